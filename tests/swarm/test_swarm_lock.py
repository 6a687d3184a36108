"""One lock for the whole Swarm, whichever manager a task reaches it through: with the
worker promoted to a second manager, a take through it is refused while a task holds the
lock through the first (`fab -H m1,m2 deploy`), a silent holder is taken over, and a
refreshed one is not. Each manager's engine is reached over SSH, as pojemnik does."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest

from pojemnik.console import say
from pojemnik.engine import lock
from pojemnik.engine.backend import LockHolder
from pojemnik.engine.docker_engine import DockerEngine
from pojemnik.engine.over_ssh import connect_over_ssh
from pojemnik.engine.swarm import lock as swarm_lock

from .cluster import WORKER, SwarmCluster

pytestmark = pytest.mark.swarm


@pytest.fixture()
def managers(swarm_cluster: SwarmCluster, swarm_base_image: str,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DockerEngine, DockerEngine]]:
    """The manager's engine and the worker's, promoted to a manager for the test."""
    monkeypatch.setenv("POJEMNIK_KNOWN_HOSTS", str(swarm_cluster.known_hosts_path))
    root = swarm_cluster.manager_root
    root.run(f"docker node promote {WORKER}")
    try:
        # Until the worker answers as a manager of the raft: ControlAvailable alone can
        # say true before its control socket serves (a config create then got 503).
        for _ in range(240):
            if swarm_cluster.worker.run("docker config ls -q", check=False).returncode == 0 \
                    and "Reachable" in root.run(
                        f"docker node inspect -f '{{{{.ManagerStatus.Reachability}}}}' "
                        f"{WORKER}", check=False).text.title():
                break
            time.sleep(0.5)
        engines = [connect_over_ssh(host.fabric_connection(), say, owned=True)
                   for host in (swarm_cluster.manager, swarm_cluster.worker)]
        try:
            yield engines[0], engines[1]
        finally:
            for engine in engines:
                engine.close()
    finally:
        for _ in range(240):  # a demote right after the promote can find it not yet in raft
            if root.run(f"docker node demote {WORKER}", check=False).returncode == 0:
                break
            time.sleep(0.5)
        for _ in range(240):  # a worker again, before the next test promotes it
            if swarm_cluster.worker.run("docker info --format '{{.Swarm.ControlAvailable}}'",
                                        check=False).text.strip() == "false":
                break
            time.sleep(0.5)


@pytest.fixture()
def project(swarm_cluster: SwarmCluster) -> Iterator[str]:
    name = f"pjswarm-lock-{secrets.token_hex(3)}"
    yield name
    swarm_cluster.manager.run(f"docker config rm {lock.lock_name(name)}", check=False)


def me(command: str) -> LockHolder:
    return LockHolder("tester@here", 1, command, "now")


def test_a_take_through_a_second_manager_is_refused_while_the_first_holds_it(
        managers: tuple[DockerEngine, DockerEngine], project: str,
        swarm_base_image: str) -> None:
    first, second = managers
    held = swarm_lock.take(first.api, project, swarm_base_image, me("fab deploy"))
    assert isinstance(held, swarm_lock.HeldClusterLock), held
    try:
        refused = swarm_lock.take(second.api, project, swarm_base_image, me("fab deploy"))
        assert isinstance(refused, LockHolder) and refused.command == "fab deploy"
        # The refusal left nothing behind on the second manager.
        assert lock.holder(second.api, project) is None
        shown = second.lock_holder(project, cluster=True)
        assert shown is not None and shown.command == "fab deploy"
    finally:
        held.release()
    again = swarm_lock.take(second.api, project, swarm_base_image, me("fab images.push"))
    assert isinstance(again, swarm_lock.HeldClusterLock), again
    again.release()
    assert first.lock_holder(project, cluster=True) is None


def test_a_silent_cluster_holder_is_taken_over_and_a_refreshed_one_is_not(
        managers: tuple[DockerEngine, DockerEngine], project: str,
        swarm_base_image: str) -> None:
    first, second = managers
    silent = swarm_lock.take(first.api, project, swarm_base_image, me("fab deploy"),
                             beat_every=None)
    assert isinstance(silent, swarm_lock.HeldClusterLock)
    try:
        taken = swarm_lock.take(second.api, project, swarm_base_image, me("fab down"),
                                stale_after=0.0, beat_every=0.05)
        assert isinstance(taken, swarm_lock.HeldClusterLock), taken
        try:
            for _ in range(600):  # until a heartbeat has refreshed it
                labels = second.api.inspect_config(taken.config)["Spec"]["Labels"]
                if labels[swarm_lock.LABEL_BEAT] != "0":
                    break
                time.sleep(0.05)
            assert labels[swarm_lock.LABEL_BEAT] != "0", "no heartbeat"
            # The silent one ends (its config is gone already; the new one stays), so a
            # take through the first manager gets its lock container, not the Swarm's.
            silent.release()
            refused = swarm_lock.take(first.api, project, swarm_base_image, me("fab deploy"))
            assert isinstance(refused, LockHolder) and refused.command == "fab down"
            assert lock.holder(first.api, project) is None
        finally:
            taken.release()
    finally:
        silent.release()
