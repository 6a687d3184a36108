"""A deploy that was interrupted, or that runs beside another one, on a real engine.

A re-run after SIGKILL at any point converges: every container on its declared networks
with its addresses, no duplicates, every site answering. Two deploys at once: one
proceeds, the other is refused with who holds the project's lock, never a raw engine
error. The lock is shown by `invoke lock`, removed by `invoke lock --release`, and a
killed holder's lock does not block the next deploy.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace

import docker
import pytest

from .conftest import INVOKE, Copy, deployed_copy
from .test_deploy import get

pytestmark = pytest.mark.integration

# service -> {network: host part}, as stack.py declares them
DECLARED = {"proxy": {"services": 3}, "php": {"services": 4, "isolated": 4},
            "app": {"services": 5, "isolated": 5}, "db": {"isolated": 3}}
# Start-first services alternate between their own and their standby addresses.
STANDBY = {"php": 104, "app": 104 + 1}
RAW_ENGINE_ERRORS = ("Traceback", "403 Client Error", "Pool overlaps", "409 Client Error")


@pytest.fixture(scope="module")
def scratch(client: docker.DockerClient, stale_cleaned: None,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    yield from deployed_copy(client, tmp_path_factory, "interrupted")


def address(copy: Copy, network: str, host: int) -> str:
    subnet = copy.isolated if network == "isolated" else copy.services
    return f"{subnet.rsplit('.', 1)[0]}.{host}"


def assert_complete(client: docker.DockerClient, copy: Copy) -> None:
    """Every service once, running, on exactly its networks with its addresses; the sites
    answer through the proxy."""
    rows = client.api.containers(all=True, filters={"label": f"pojemnik.project={copy.project}"})
    names = sorted(r["Names"][0].lstrip("/") for r in rows
                   if (r.get("Labels") or {}).get("pojemnik.kind") != "lock")
    assert names == sorted(f"{copy.project}-{s}" for s in DECLARED)
    for service, networks in DECLARED.items():
        found = client.api.inspect_container(f"{copy.project}-{service}")
        assert found["State"]["Status"] == "running", service
        attached = found["NetworkSettings"]["Networks"]
        slots = [networks] + ([dict.fromkeys(networks, STANDBY[service])]
                              if service in STANDBY else [])
        assert {n: attached[n]["IPAddress"] for n in attached} in [
            {f"{copy.project}-{n}": address(copy, n, host) for n, host in slot.items()}
            for slot in slots], (service, attached)
    for host in ("php.localhost", "app.localhost"):
        status, body = get(copy, host)
        assert status == 200 and "database: ok" in body, (host, status, body)
    assert "updates.localhost" in get(copy, "updates.localhost")[1]


def no_raw_errors(output: str) -> None:
    assert not [e for e in RAW_ENGINE_ERRORS if e in output], output


def start_deploy(copy: Copy) -> subprocess.Popen[str]:
    return subprocess.Popen([*INVOKE, "deploy"], cwd=copy.root, env=copy.env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1)


def test_two_deploys_at_once_one_proceeds_the_other_is_refused(
        client: docker.DockerClient, scratch: Copy) -> None:
    scratch.invoke("down")  # both deploys have everything to do again (images stay)
    first, second = start_deploy(scratch), start_deploy(scratch)
    outputs = [p.communicate(timeout=1800)[0] for p in (first, second)]
    codes = [first.returncode, second.returncode]
    assert sorted(codes) == [0, 1], outputs
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    refused = outputs[loser]
    pid = (first, second)[winner].pid
    assert f"{scratch.project} is locked" in refused
    assert f"pid {pid}" in refused and "`invoke deploy`" in refused and "since" in refused
    assert "@" in refused  # user@hostname
    for output in outputs:
        no_raw_errors(output)
    assert_complete(client, scratch)


def test_lock_is_shown_refuses_a_deploy_and_can_be_released(
        client: docker.DockerClient, scratch: Copy) -> None:
    from pojemnik.engine.backend import LockHolder
    from pojemnik.engine.local import connect_local
    from pojemnik.operations.lock import this_process

    engine = connect_local()
    try:
        held = engine.take_lock(scratch.project, "debian:bookworm-slim",
                                this_process("invoke test-holder"))
        assert not isinstance(held, LockHolder)
        shown = scratch.invoke("lock").stdout
        assert "locked, held by" in shown and f"pid {os.getpid()}" in shown
        assert "`invoke test-holder`" in shown
        refused = scratch.invoke("deploy", check=False)
        assert refused.returncode == 1
        assert "`invoke test-holder`" in refused.stderr and "lock --release" in refused.stderr
        no_raw_errors(refused.stdout + refused.stderr)
        down = scratch.invoke("down", check=False)
        assert down.returncode == 1 and "is locked" in down.stderr
        assert "lock released" in scratch.invoke("lock", "--release").stdout
        assert "not locked" in scratch.invoke("lock").stdout
        held.release()  # already gone: must not fail
    finally:
        engine.close()
    assert "nothing to do" in scratch.invoke("deploy").stdout
    assert "not locked" in scratch.invoke("lock").stdout
    assert_complete(client, scratch)


def test_app_disconnected_from_a_network_is_recreated_on_both(
        client: docker.DockerClient, scratch: Copy) -> None:
    app = f"{scratch.project}-app"
    client.api.disconnect_container_from_network(app, f"{scratch.project}-isolated")
    plan = scratch.invoke("plan").stdout
    assert f"not on {scratch.project}-isolated" in plan
    result = scratch.invoke("deploy")
    assert "recreated 1" in result.stdout
    assert_complete(client, scratch)


def test_app_created_on_its_first_network_only_is_recreated(
        client: docker.DockerClient, scratch: Copy, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exactly the state a deploy killed between `create` and `network connect` leaves."""
    from pojemnik.declaration.loader import load_stack
    from pojemnik.engine import containers
    from pojemnik.planning.spec import container_spec

    for name, value in scratch.env.items():
        monkeypatch.setenv(name, value)
    stack, problems = load_stack(scratch.root)
    assert problems == []
    app = f"{scratch.project}-app"
    labels = client.api.inspect_container(app)["Config"]["Labels"]
    spec = replace(container_spec(stack, stack.service("app")), labels=labels)
    client.api.remove_container(app, force=True)

    class Killed(Exception):
        pass

    def killed(*args: object, **kwargs: object) -> None:
        raise Killed

    monkeypatch.setattr(client.api, "connect_container_to_network", killed)
    with pytest.raises(Killed):
        containers.create_container(client.api, spec)
    monkeypatch.undo()
    found = client.api.inspect_container(app)
    assert found["State"]["Status"] == "created"
    assert list(found["NetworkSettings"]["Networks"]) == [f"{scratch.project}-services"]

    result = scratch.invoke("deploy")
    assert "recreated 1" in result.stdout
    assert_complete(client, scratch)


def deploy_killed_at(copy: Copy, line: str) -> str:
    """Run `invoke deploy`, SIGKILL it as soon as it prints `line`; its output so far."""
    process = start_deploy(copy)
    assert process.stdout is not None
    seen: list[str] = []
    try:
        for text in process.stdout:
            seen.append(text)
            if line in text:
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
    output = "".join(seen)
    assert line in output, f"the deploy never printed {line!r}:\n{output}"
    assert process.returncode == -signal.SIGKILL
    return output


@pytest.mark.parametrize("line", ["network {p}-isolated: creating",
                                  "network {p}-services: creating",
                                  "container {p}-db: create",
                                  "container {p}-app: create",
                                  "container {p}-proxy: create"])
def test_a_deploy_killed_at_any_point_converges_on_the_next(
        client: docker.DockerClient, scratch: Copy, line: str) -> None:
    scratch.invoke("down")
    deploy_killed_at(scratch, line.format(p=scratch.project))
    result = scratch.invoke("deploy")  # at once: the killed holder's lock must not block it
    no_raw_errors(result.stdout + result.stderr)
    assert_complete(client, scratch)
    assert "nothing to do" in scratch.invoke("deploy").stdout
    for _ in range(100):  # the engine removes the lock container right after a deploy
        if "not locked" in scratch.invoke("lock").stdout:
            break
        time.sleep(0.2)
    assert "not locked" in scratch.invoke("lock").stdout


def test_tests_leave_no_lock_behind(client: docker.DockerClient, scratch: Copy) -> None:
    rows = client.api.containers(all=True, filters={"label": "pojemnik.kind=lock"})
    assert [r for r in rows
            if (r.get("Labels") or {}).get("pojemnik.project") == scratch.project] == []


