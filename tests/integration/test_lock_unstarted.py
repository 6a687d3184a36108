"""The lock on a real engine when its container was never started (a task shorter than a
heartbeat never starts it): a holder killed before its lock started frees it for the next
taker at once, a living one keeps it, and takers racing for it never both hold it."""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import docker
import pytest

from pojemnik.engine import lock
from pojemnik.engine.backend import LockHolder

IMAGE = "debian:bookworm-slim"

HOLD = """
import sys, time, docker
from pojemnik.engine import lock
from pojemnik.engine.backend import LockHolder
held = lock.take(docker.APIClient(version="auto"), sys.argv[1], sys.argv[2],
                 LockHolder("tester@elsewhere", 7, "invoke deploy", "now"))
print("held" if isinstance(held, lock.HeldLock) else "refused", flush=True)
time.sleep(600)
"""


@pytest.fixture()
def project(client: docker.DockerClient) -> Iterator[str]:
    name = f"pjtest-lock-{secrets.token_hex(3)}"
    yield name
    for row in client.api.containers(all=True, filters={"name": lock.lock_name(name)}):
        client.api.remove_container(row["Id"], force=True)


def me(command: str = "invoke deploy") -> LockHolder:
    return LockHolder("tester@here", 1, command, "now")


def status(api: docker.APIClient, project: str) -> str | None:
    try:
        return str(api.inspect_container(lock.lock_name(project))["State"]["Status"])
    except docker.errors.NotFound:
        return None


@pytest.fixture()
def killed_holder(client: docker.DockerClient, project: str) -> str:
    """A holder in another process, SIGKILLed while its lock has never started."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, project, IMAGE], text=True,
                               stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        assert status(client.api, project) == "created"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert status(client.api, project) == "created"  # nothing removes it by itself
    return project


def test_a_holder_killed_before_its_lock_started_frees_it_for_the_next_taker(
        client: docker.DockerClient, killed_holder: str) -> None:
    old = client.api.inspect_container(lock.lock_name(killed_holder))["Id"]
    taken = lock.take(client.api, killed_holder, IMAGE, me())  # default stale_after: 60 s
    assert isinstance(taken, lock.HeldLock), taken
    try:
        assert taken.container != old
        with pytest.raises(docker.errors.NotFound):
            client.api.inspect_container(old)
    finally:
        taken.release()
    assert status(client.api, killed_holder) is None


def test_a_living_holder_whose_lock_never_started_keeps_it(
        client: docker.DockerClient, project: str) -> None:
    held = lock.take(client.api, project, IMAGE, me("invoke deploy"), beat_every=None)
    assert isinstance(held, lock.HeldLock)
    try:
        assert status(client.api, project) == "created"
        other = docker.APIClient(version="auto")
        try:
            shown = lock.holder(other, project)
            assert shown is not None and shown.command == "invoke deploy"
            refused = lock.take(other, project, IMAGE, me("invoke down"))
            assert isinstance(refused, LockHolder) and refused.command == "invoke deploy"
        finally:
            other.close()
        # The taker started it to learn whether its holder lives: it runs on, held.
        assert status(client.api, project) == "running"
    finally:
        held.release()
    assert status(client.api, project) is None
    after = lock.take(client.api, project, IMAGE, me("invoke down"))
    assert isinstance(after, lock.HeldLock)
    after.release()


@pytest.mark.parametrize("with_dead_holder", [False, True])
def test_takers_racing_for_the_lock_never_both_hold_it(
        client: docker.DockerClient, project: str, request: pytest.FixtureRequest,
        with_dead_holder: bool) -> None:
    if with_dead_holder:
        request.getfixturevalue("killed_holder")  # all of them meet its unstarted lock
    takers = 6
    ready = threading.Barrier(takers)
    results: dict[int, lock.HeldLock | LockHolder | BaseException] = {}

    def take(number: int) -> None:
        api = docker.APIClient(version="auto")
        ready.wait()
        try:
            results[number] = lock.take(api, project, IMAGE, me(f"invoke task-{number}"))
        except BaseException as error:  # reported below, with the others
            results[number] = error

    threads = [threading.Thread(target=take, args=(n,)) for n in range(takers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held = {n: r for n, r in results.items() if isinstance(r, lock.HeldLock)}
    try:
        assert len(results) == takers and len(held) == 1, results
        refused = [r for r in results.values() if isinstance(r, LockHolder)]
        assert len(refused) == takers - 1, results
        assert {r.command for r in refused} == {f"invoke task-{next(iter(held))}"}
    finally:
        for one in held.values():
            one.release()
    assert status(client.api, project) is None
