"""Planning of updates: upstream files, the start-first slot, drift on either address,
stray replacements; the readiness probe's command; the teardown order. No Docker."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from stackbuilders import converged, with_container, with_service

from pojemnik import Reload, Stack, StartFirst, StopFirst, Upstreams
from pojemnik.declaration.model import LABEL_SERVICE, LABEL_SPEC_HASH
from pojemnik.declaration.order import startup_order
from pojemnik.engine.backend import ContainerRow
from pojemnik.engine.readiness import NotReady, health_command
from pojemnik.operations.host._update import UpdateRefused, start_first
from pojemnik.operations.host.teardown import stop_waves
from pojemnik.planning import plan as p
from pojemnik.planning.plan import make_plan
from pojemnik.planning.spec import container_spec
from pojemnik.planning.state import ObservedContainer
from pojemnik.planning.upstreams import (
    in_slot,
    proxy_upstreams,
    render_upstream,
    replacement_slot,
    upstream_files,
)

SERVICES, ISOLATED = "demo-services", "demo-isolated"


def rolling(stack: Stack) -> Stack:
    """php and app start-first (standby .104/.105); the proxy reads their upstreams."""
    stack = with_service(stack, "php", update=StartFirst({"services": 104, "isolated": 104}))
    stack = with_service(stack, "app", update=StartFirst({"services": 105, "isolated": 105}))
    return with_service(stack, "proxy", upstreams=Upstreams("/etc/pojemnik/upstreams",
                                                            {"app": 8080, "php": 9000}),
                        reload=Reload(["nginx", "-s", "reload"], check=["nginx", "-t"]))


def test_upstream_file_names_the_service_and_its_address() -> None:
    # The group, and the variable sites name to reach it on either target.
    assert render_upstream("app", "10.0.20.5", 8080).endswith(
        "upstream app {\n    server 10.0.20.5:8080;\n}\n"
        "map $host $pojemnik_app { default app; }\n")


def test_upstreams_use_the_network_shared_with_the_proxy(stack: Stack) -> None:
    (proxy,) = proxy_upstreams(rolling(stack))
    assert proxy.proxy == "demo-proxy"
    assert proxy.directory.endswith(".pojemnik/demo/upstreams")
    assert [(u.service, u.network, u.primary, u.port) for u in proxy.upstreams] == [
        ("app", SERVICES, "10.9.20.5", 8080), ("php", SERVICES, "10.9.20.4", 9000)]
    files = upstream_files(proxy, {"demo-app": {SERVICES: "10.9.20.105", ISOLATED: "x"}})
    assert "server 10.9.20.105:8080;" in files["app.conf"]  # where it runs now
    assert "server 10.9.20.4:9000;" in files["php.conf"]  # not running: declared address


def test_the_proxy_mounts_the_upstream_directory_read_only(stack: Stack) -> None:
    spec = container_spec(rolling(stack), rolling(stack).service("proxy"))
    mount = next(m for m in spec.mounts if m.target == "/etc/pojemnik/upstreams")
    assert mount.read_only and mount.source.endswith(".pojemnik/demo/upstreams")


def test_standby_addresses_are_the_second_declared_ones(stack: Stack) -> None:
    spec = container_spec(rolling(stack), rolling(stack).service("app"))
    assert [a.ip for a in spec.networks] == ["10.9.20.5", "10.9.10.5"]
    assert [a.ip for a in spec.standby] == ["10.9.20.105", "10.9.10.105"]
    assert container_spec(stack, stack.service("db")).standby == []  # stop-first


def on(addresses: dict[str, str], name: str, spec_labels: dict[str, str]) -> ObservedContainer:
    return ObservedContainer(name, "id", spec_labels, "running", addresses=addresses)


def test_a_replacement_takes_the_address_the_running_one_does_not_use(stack: Stack) -> None:
    spec = container_spec(rolling(stack), rolling(stack).service("app"))
    primary = on({SERVICES: "10.9.20.5", ISOLATED: "10.9.10.5"}, "demo-app", {})
    standby = on({SERVICES: "10.9.20.105", ISOLATED: "10.9.10.105"}, "demo-app", {})
    assert [a.ip for a in replacement_slot(spec, primary).networks] == \
        ["10.9.20.105", "10.9.10.105"]
    assert [a.ip for a in replacement_slot(spec, standby).networks] == \
        ["10.9.20.5", "10.9.10.5"]


def test_either_address_is_no_drift(stack: Stack) -> None:
    stack = rolling(stack)
    observed = converged(stack)
    spec = next(a.container for a in make_plan(stack, observed.__class__()).actions
                if a.target == "demo-app" and a.container)
    moved = in_slot(spec, standby=True)
    observed = with_container(observed, "demo-app", labels=moved.labels,
                              addresses={SERVICES: "10.9.20.105", ISOLATED: "10.9.10.105"})
    plan = make_plan(stack, observed)
    assert not plan.of_kind(p.RECREATE), plan.actions
    assert "container demo-app" in plan.unchanged


def test_drift_of_a_start_first_service_is_a_start_first_update(stack: Stack) -> None:
    stack = rolling(stack)
    observed = with_container(converged(stack), "demo-app",
                              addresses={SERVICES: "10.9.20.5", ISOLATED: "10.9.10.5"})
    changed = with_service(stack, "app", environment={"APP_MODE": "staging"})
    (update,) = make_plan(changed, observed).of_kind(p.RECREATE)
    assert update.start_first and "environment" in update.reason
    assert update.container is not None
    assert [a.ip for a in update.container.networks] == ["10.9.20.105", "10.9.10.105"]
    # The label records the standby addresses: the next plan sees no drift.
    recorded = json.loads(update.container.labels[LABEL_SPEC_HASH])
    assert recorded == update.container.fingerprint()


def test_stop_first_drift_is_a_plain_recreate(stack: Stack) -> None:
    stack = rolling(stack)
    changed = with_service(stack, "db", environment={"X": "1"},
                           update=StopFirst(before=["pg_dump"]))
    (update,) = make_plan(changed, converged(stack)).of_kind(p.RECREATE)
    assert update.target == "demo-db" and not update.start_first
    assert update.container is not None and update.container.update.before == ["pg_dump"]


def test_a_stray_replacement_is_removed(stack: Stack) -> None:
    stack = rolling(stack)
    observed = converged(stack)
    stray = ObservedContainer("demo-app-next", "id-next", {LABEL_SERVICE: "app"}, "running")
    plan = make_plan(stack, replace(observed, containers=[*observed.containers, stray]))
    assert [(a.kind, a.target) for a in plan.actions] == [(p.REMOVE_ORPHAN, "demo-app-next")]
    assert plan.orphans == []


def test_health_command_from_the_container_config() -> None:
    assert health_command({"Healthcheck": {"Test": ["CMD", "/bin/check", "-q"]}}) == \
        ["/bin/check", "-q"]
    assert health_command({"Healthcheck": {"Test": ["CMD-SHELL", "pg_isready || exit 1"]}}) \
        == ["/bin/sh", "-c", "pg_isready || exit 1"]
    assert health_command({"Healthcheck": {"Test": ["NONE"]}}) is None
    assert health_command({}) is None


def row(name: str, service: str) -> ContainerRow:
    return ContainerRow(name, service, "image", "running", "Up", "")


def test_down_stops_in_reverse_dependency_order_orphans_last(stack: Stack) -> None:
    rows = [row("demo-db", "db"), row("demo-php", "php"), row("demo-app", "app"),
            row("demo-proxy", "proxy"), row("demo-old", "old"),
            row("demo-app-next", "app")]
    assert startup_order(stack) == [["db"], ["app", "php"], ["proxy"]]
    assert stop_waves(rows, startup_order(stack)) == [
        ["demo-proxy"], ["demo-app", "demo-app-next", "demo-php"], ["demo-db"], ["demo-old"]]


def test_start_first_needs_free_standby_addresses_and_no_host_ports(stack: Stack) -> None:
    from pojemnik.declaration.validate.stack import check_declaration

    assert check_declaration(rolling(stack)) == []
    clash = with_service(rolling(stack), "app", update=StartFirst({"services": 4,
                                                                   "isolated": 105}))
    (problem,) = check_declaration(clash)
    assert "address 4 is already declared on services" in str(problem)
    ports = with_service(rolling(stack), "proxy", update=StartFirst({"services": 103}))
    assert "publishes host ports" in str(check_declaration(ports))
    unreloadable = with_service(rolling(stack), "proxy", reload=None)
    assert "needs a way to reload" in str(check_declaration(unreloadable))


class NeverReady:
    """An engine whose new containers never get ready; it records what was asked."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def remove_container(self, name: str) -> None:
        self.calls.append(f"remove {name}")

    def create_container(self, spec: object) -> str:
        self.calls.append(f"create {getattr(spec, 'name', '')}")
        return "id"

    def wait_ready(self, name: str, timeout: float) -> str:
        raise NotReady(f"{name} is not ready: its health command did not pass within "
                       f"{timeout:g} s.\nlast log lines:\n...")


def test_a_refused_start_first_update_names_the_check_and_what_kept_serving(
        stack: Stack) -> None:
    service = replace(stack.service("php"), update=StartFirst(standby={"services": 104,
                                                                        "isolated": 104}))
    spec = replace(container_spec(stack, service), ready_timeout=5)
    action = p.Action(p.RECREATE, "demo-php", "drifted", container=spec, start_first=True)
    engine = NeverReady()
    with pytest.raises(UpdateRefused) as refused:
        start_first(action, engine, lambda _: None, None)  # type: ignore[arg-type]
    assert refused.value.by == ("the readiness check of demo-php-next (its health command "
                                "did not pass within 5 s)")
    assert refused.value.kept == "demo-php (the old container)"
    assert engine.calls == ["remove demo-php-next", "create demo-php-next",
                            "remove demo-php-next"]  # the old one untouched
