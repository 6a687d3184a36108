"""A one-off container copies the service's networks, environment, secrets and mounts,
and nothing that makes it the service: no ports, no fixed address, no DNS name, no
restart, no healing; the plan never sees it. `run`/`exec` refuse bad input first."""

from __future__ import annotations

from pathlib import Path

from test_task_inputs import BIN, copy_of_example, run

from pojemnik import Stack
from pojemnik.declaration.model import LABEL_HEAL_AFTER, LABEL_KIND
from pojemnik.planning.oneoff import ONEOFF_KIND, oneoff_spec
from pojemnik.planning.spec import container_spec


def test_a_one_off_copies_the_service_but_takes_none_of_its_traffic(example: Stack) -> None:
    live = container_spec(example, example.service("app"))
    once = oneoff_spec(example, "app", "python3 manage.py migrate", token="abc123")
    assert once.name == f"{live.name}-run-abc123" and once.image == live.image
    assert once.command == ["sh", "-c", "python3 manage.py migrate"]
    assert once.environment == live.environment and once.mounts == live.mounts
    assert once.tmpfs == live.tmpfs and once.limits == live.limits
    assert [a.network for a in once.networks] == [a.network for a in live.networks]
    assert all(a.ip is None and a.aliases == [] for a in once.networks)
    assert once.restart == "no" and once.healthcheck is None and once.heal_after is None
    assert once.labels[LABEL_KIND] == ONEOFF_KIND and LABEL_HEAL_AFTER not in once.labels


def test_the_proxy_s_one_off_publishes_nothing(example: Stack) -> None:
    assert container_spec(example, example.service("proxy")).ports
    assert oneoff_spec(example, "proxy", "nginx -t").ports == []


def test_a_one_off_runs_the_image_it_is_given(example: Stack) -> None:
    assert oneoff_spec(example, "app", "true", image="sha256:0123").image == "sha256:0123"


def test_two_one_offs_have_their_own_names(example: Stack) -> None:
    assert oneoff_spec(example, "app", "true").name != oneoff_spec(example, "app", "true").name


def test_run_and_exec_of_an_unknown_service_name_the_declared_ones(tmp_path: Path) -> None:
    root = copy_of_example(tmp_path)
    for task in ("run", "exec"):
        result = run(root, str(BIN / "invoke"), task, "nosuch", "true", project="pjunit")
        assert result.returncode == 2, result.stdout + result.stderr
        assert "unknown service 'nosuch'; declared: db, php, app, proxy" in result.stderr


def test_run_on_a_swarm_says_it_is_for_the_host_target(tmp_path: Path) -> None:
    root = copy_of_example(tmp_path)
    (root / ".env").write_text("POJEMNIK_TARGET=swarm\n")
    result = run(root, str(BIN / "invoke"), "run", "app", "true", project="pjunit")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "declares target swarm" in result.stderr and "host target" in result.stderr
