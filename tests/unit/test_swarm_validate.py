"""The Swarm target's validation: what a single host has and a Swarm lacks is translated
(and said) or refused with what to declare instead. Pure: no engine."""

from __future__ import annotations

from dataclasses import replace

import pytest
from stackbuilders import EXAMPLE_ROOT, EXAMPLE_SETTINGS, one, with_service
from swarmbuilders import on_swarm

from pojemnik import Bind, Port, Stack, StartFirst, StopFirst, VolumeMount
from pojemnik.declaration.loader import load_stack
from pojemnik.declaration.swarm import Swarm
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.declaration.validate.swarm import translated_environment, translations


def test_the_unit_stack_is_valid_on_a_swarm(stack: Stack) -> None:
    assert check_declaration(on_swarm(stack)) == []


def test_an_unknown_target_is_refused(stack: Stack) -> None:
    problem = one(check_declaration(replace(stack, target="kubernetes")))
    assert problem.where == "stack.py: target"
    assert "host" in problem.fix and "swarm" in problem.fix


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"replicas": -1}, "services.php.replicas", "not a count"),
    ({"mode": "everywhere"}, "services.php.mode", "replicated, global"),
    ({"mode": "global", "replicas": 2}, "services.php.replicas", "global"),
    ({"endpoint_mode": "ipvs"}, "services.php.endpoint_mode", "dnsrr, vip"),
    ({"publish_mode": "mesh"}, "services.php.publish_mode", "host, ingress"),
    ({"placement": ["labels.edge=true"]}, "services.php.placement[0]", "node.labels"),
])
def test_swarm_fields_are_checked_on_every_target(stack: Stack, changes: dict[str, object],
                                                  field: str, words: str) -> None:
    problem = one(check_declaration(with_service(stack, "php", **changes)))
    assert problem.where == f"stack.py: {field}"
    assert words in problem.message + problem.fix


def test_a_port_on_one_address_is_refused_with_the_fix(stack: Stack) -> None:
    swarm = replace(on_swarm(stack), services=stack.services, target="swarm")
    problems = check_declaration(swarm)
    assert [p.where for p in problems] == ["stack.py: services.proxy.ports[0]",
                                           "stack.py: services.proxy.ports[1]"]
    assert "cannot keep it on 127.0.0.1" in problems[0].message
    assert "0.0.0.0" in problems[0].fix and "firewall" in problems[0].fix
    assert "firewall.apply` then drops what the stack does not publish, on every node" \
        in problems[0].fix  # true since the firewall filters docker_gwbridge on every node


def test_data_with_more_than_one_task_is_refused(stack: Stack) -> None:
    problem = one(check_declaration(with_service(on_swarm(stack), "db", replicas=2)))
    assert problem.where == "stack.py: services.db.replicas"
    assert "volume dbdata" in problem.message and "replicas=1" in problem.fix
    writable = with_service(on_swarm(stack), "app", mode="global",
                            mounts=[Bind("www/site", "/srv/uploads", read_only=False)])
    problem = one(check_declaration(writable))
    assert "www/site/" in problem.message and "a task on every node" in problem.message


def test_the_routing_mesh_needs_virtual_addresses(stack: Stack) -> None:
    mesh = with_service(on_swarm(stack), "proxy", publish_mode="ingress")
    problem = one(check_declaration(mesh))
    assert problem.where == "stack.py: services.proxy.publish_mode"
    assert "endpoint_mode=\"vip\"" in problem.fix
    assert check_declaration(replace(mesh, swarm=Swarm(endpoint_mode="vip"))) == []
    assert any("IPVS" in note for note in translations(replace(mesh, swarm=Swarm(
        endpoint_mode="vip"))))


def test_start_first_with_ports_is_refused_on_a_swarm_too(stack: Stack) -> None:
    problems = check_declaration(with_service(on_swarm(stack), "proxy",
                                              update=StartFirst(standby={"services": 30})))
    assert one(problems).where == "stack.py: services.proxy.update"
    assert "StopFirst()" in problems[0].fix
    assert check_declaration(with_service(on_swarm(stack), "proxy", update=StopFirst())) == []


def test_fixed_addresses_in_the_environment_become_service_names(stack: Stack) -> None:
    changed = with_service(on_swarm(stack), "app", environment={
        "UPSTREAM": "10.9.20.4", "URL": "http://10.9.10.3:5432/db", "NOT": "10.9.20.40",
        "LIST": "127.0.0.1,10.9.20.3"})
    environment, notes = translated_environment(changed, changed.service("app"))
    assert environment == {"UPSTREAM": "php", "URL": "http://db:5432/db", "NOT": "10.9.20.40",
                           "LIST": "127.0.0.1,proxy"}
    assert any("UPSTREAM: 10.9.20.4 (the fixed address of php) becomes 'php'" in n
               for n in notes)


def test_translations_say_what_differs_from_one_host(stack: Stack) -> None:
    notes = "\n".join(translations(on_swarm(stack)))
    assert "php: fixed addresses (4 on services, 4 on isolated) are not kept" in notes
    assert "proxy: mounted files (config/proxy) become Swarm configs" in notes
    assert "db: keeps data (volume dbdata) on one node: pinned to the manager" in notes
    # What a Swarm task loses of the single host's hardening is said, not hidden.
    assert "db: tmpfs (/tmp) mounted without noexec and nosuid" in notes
    assert "proxy: tmpfs (/run/nginx) mounted without noexec and nosuid" in notes
    placed = with_service(on_swarm(stack), "db", placement=["node.labels.db==true"])
    assert "pinned to placement ['node.labels.db==true']" in "\n".join(translations(placed))


def test_the_example_deploys_to_a_swarm_with_only_the_target_changed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = {**EXAMPLE_SETTINGS, "POJEMNIK_TARGET": "swarm", "PUBLISH_ADDRESS": "0.0.0.0"}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    example, problems = load_stack(EXAMPLE_ROOT)
    assert problems == [] and example.target == "swarm"
    assert check_declaration(example) == []
    php = example.service("php")
    assert translated_environment(example, php)[0]["FPM_ALLOWED_CLIENTS"] == "proxy"
    assert php.replicas == 2 and example.service("app").replicas == 2


def test_the_example_on_one_address_is_refused_naming_the_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**EXAMPLE_SETTINGS, "POJEMNIK_TARGET": "swarm"}.items():
        monkeypatch.setenv(name, value)
    example, _ = load_stack(EXAMPLE_ROOT)
    problems = check_declaration(example)
    assert len(problems) == 2 and "PUBLISH_ADDRESS=0.0.0.0" in problems[0].fix


def test_volumes_and_read_only_volumes_both_pin(stack: Stack) -> None:
    pinned = with_service(on_swarm(stack), "app", replicas=3,
                          mounts=[VolumeMount("dbdata", "/data", read_only=True)])
    assert "volume dbdata" in one(check_declaration(pinned)).message
    assert check_declaration(with_service(on_swarm(stack), "app", replicas=3)) == []
    assert Port(80, 8080).address == "127.0.0.1"  # the single-host default is unchanged
