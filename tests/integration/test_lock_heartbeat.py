"""The lock on a real engine: a holder's heartbeats reach the engine's log, and a holder
gone silent with its connection still open (a machine that vanished) loses the lock to
the next taker once it has been silent for `stale_after` seconds (given here as 0: any
silence; the default keeps it held)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import docker
import pytest

from pojemnik.engine import lock
from pojemnik.engine.backend import LockHolder

IMAGE = "debian:bookworm-slim"


@pytest.fixture()
def project(client: docker.DockerClient) -> Iterator[str]:
    name = f"pjtest-lock-{secrets.token_hex(3)}"
    yield name
    for row in client.api.containers(all=True, filters={"name": lock.lock_name(name)}):
        client.api.remove_container(row["Id"], force=True)


def holder(command: str) -> LockHolder:
    return LockHolder("tester@here", 1, command, "now")


def test_a_silent_holder_loses_the_lock_and_a_beating_one_keeps_it(
        client: docker.DockerClient, project: str) -> None:
    api = client.api
    silent = lock.take(api, project, IMAGE, holder("fab deploy"), beat_every=None)
    assert isinstance(silent, lock.HeldLock)
    try:
        refused = lock.take(api, project, IMAGE, holder("fab images.push"))
        assert isinstance(refused, LockHolder) and refused.command == "fab deploy"
        assert refused.silent is not None and refused.silent < lock.STALE
        taken = lock.take(api, project, IMAGE, holder("fab images.push"), stale_after=0.0,
                          beat_every=0.05)
        assert isinstance(taken, lock.HeldLock), taken
        try:
            assert taken.container != silent.container
            with pytest.raises(docker.errors.NotFound):
                api.inspect_container(silent.container)
            # Its heartbeats reach the engine's log; heard from, it is not stale.
            for _ in range(600):
                if lock.last_beat(api, taken.container):
                    break
                time.sleep(0.05)
            assert lock.last_beat(api, taken.container), "no heartbeat in the lock's log"
            after = lock.take(api, project, IMAGE, holder("fab deploy"))
            assert isinstance(after, LockHolder) and after.command == "fab images.push"
        finally:
            taken.release()
    finally:
        silent.release()  # its container is gone already: must not fail
    assert lock.holder(api, project) is None
