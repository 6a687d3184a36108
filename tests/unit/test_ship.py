"""Shipping images to every Swarm node, with fake engines: the nodes as a manager's engine
reports them, nothing sent unless every node is reachable and Ready, identical ids skipped,
each node's lines prefixed with its name, one node's failure named. (The real thing runs in
tests/swarm/test_ship.py.)"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from pojemnik.console import say
from pojemnik.engine.backend import ImageRow, SwarmNode
from pojemnik.engine.nodes import _node
from pojemnik.errors import DockerError, OperationError, SSHError
from pojemnik.operations.images.every_node import push_to_nodes

TAG = "demo/proxy:latest"


class FakeEngine:
    def __init__(self, where: str, images: dict[str, str],
                 nodes: list[SwarmNode] | None = None, fail_load: bool = False) -> None:
        self.where, self.images, self.listed = where, dict(images), nodes or []
        self.loaded: list[bytes] = []
        self.closed = False
        self.fail_load = fail_load

    def image_ids(self) -> dict[str, str]:
        return dict(self.images)

    def list_images(self, tags: Iterable[str]) -> list[ImageRow]:
        return [ImageRow([t], i, 3, 0) for t, i in self.images.items() if t in set(tags)]

    def save_image(self, tag: str) -> Iterator[bytes]:
        yield f"{tag}={self.images[tag]}".encode()

    def load_image(self, chunks: Iterable[bytes]) -> None:
        data = b"".join(chunks)
        if self.fail_load:
            raise DockerError(f"the Docker engine ({self.where}) refused: no space left")
        self.loaded.append(data)
        tag, _, image_id = data.decode().partition("=")
        self.images[tag] = image_id

    def nodes(self) -> list[SwarmNode]:
        return self.listed

    def close(self) -> None:
        self.closed = True


def node(hostname: str, current: bool = False, state: str = "ready") -> SwarmNode:
    return SwarmNode(id=f"id-{hostname}", hostname=hostname, address=f"10.9.0.{len(hostname)}",
                     role="manager" if current else "worker", availability="active",
                     state=state, labels={}, current=current)


def cluster(*workers: SwarmNode, manager_images: dict[str, str] | None = None
            ) -> tuple[FakeEngine, FakeEngine, dict[str, FakeEngine]]:
    local = FakeEngine("local", {TAG: "sha256:new"})
    manager = FakeEngine("deploy@manager:22", manager_images or {},
                         [node("manager", current=True), *workers])
    others = {w.hostname: FakeEngine(f"deploy@{w.address}:22", {}) for w in workers}
    return local, manager, others


def test_every_node_gets_the_image_and_identical_ones_are_skipped(
        capsys: pytest.CaptureFixture[str]) -> None:
    local, manager, others = cluster(node("worker-1"), node("worker-2"),
                                     manager_images={TAG: "sha256:new"})
    ids = push_to_nodes(local, manager, lambda n: others[n.hostname], [TAG], say)  # type: ignore[arg-type]
    assert ids == {TAG: "sha256:new"}
    assert manager.loaded == []  # already there: skipped
    assert all(e.images[TAG] == "sha256:new" and e.closed for e in others.values())
    assert not manager.closed  # the task's own engine: the task closes it
    lines = capsys.readouterr().out.splitlines()
    assert f"[manager] image {TAG}: already on the host" in lines
    assert f"[worker-1] image {TAG}: loaded (0 MiB)" in lines
    assert f"image {TAG}: sha256:new on all 3 nodes" in lines


def test_an_unreachable_node_stops_everything_before_anything_is_sent() -> None:
    local, manager, others = cluster(node("worker-1"), node("worker-2"))

    def connect(n: SwarmNode) -> Any:
        if n.hostname == "worker-2":
            raise SSHError("deploy@10.9.0.8:22: unknown host key (10.9.0.8 is not in kh)")
        return others[n.hostname]

    with pytest.raises(OperationError) as refused:
        push_to_nodes(local, manager, connect, [TAG], print)  # type: ignore[arg-type]
    message = str(refused.value)
    assert "cannot reach Swarm node worker-2 (worker, 10.9.0.8)" in message
    assert "through the manager deploy@manager:22" in message
    assert "unknown host key" in message and "known_hosts under 10.9.0.8" in message
    assert "Nothing was sent to any node" in message
    assert manager.loaded == [] and others["worker-1"].loaded == []
    assert others["worker-1"].closed  # the one that was reached is closed again


def test_a_node_that_is_not_ready_is_refused_first() -> None:
    local, manager, others = cluster(node("worker-1", state="down"))
    with pytest.raises(OperationError, match=r"worker-1 \(10\.9\.0\.8\) is down .*docker node "
                                             r"rm worker-1.*nothing was sent"):
        push_to_nodes(local, manager, lambda n: others[n.hostname], [TAG], print)  # type: ignore[arg-type]
    assert manager.loaded == []


def test_an_image_not_built_here_is_refused_before_asking_the_nodes() -> None:
    local, manager, others = cluster(node("worker-1"))
    with pytest.raises(OperationError, match="demo/php:latest is not built here"):
        push_to_nodes(local, manager, lambda n: others[n.hostname],  # type: ignore[arg-type]
                      [TAG, "demo/php:latest"], print)
    assert manager.loaded == [] and others["worker-1"].loaded == []


def test_one_nodes_failure_is_named_and_the_others_still_get_the_images() -> None:
    local, manager, others = cluster(node("worker-1"), node("worker-2"))
    others["worker-1"].fail_load = True
    with pytest.raises(OperationError) as failed:
        push_to_nodes(local, manager, lambda n: others[n.hostname], [TAG], print)  # type: ignore[arg-type]
    assert "pushing images failed on worker-1: " in str(failed.value)
    assert "no space left" in str(failed.value) and "run it again" in str(failed.value)
    assert manager.images[TAG] == others["worker-2"].images[TAG] == "sha256:new"


def test_nodes_as_the_engine_reports_them() -> None:
    worker = _node({"ID": "w1", "Description": {"Hostname": "worker"},
                    "Spec": {"Role": "worker", "Availability": "drain",
                             "Labels": {"edge": "true"}},
                    "Status": {"State": "ready", "Addr": "10.215.3.3"}}, current="m1")
    assert worker == SwarmNode("w1", "worker", "10.215.3.3", "worker", "drain", "ready",
                               {"edge": "true"}, current=False)
    # A manager's Status.Addr may read 0.0.0.0: its ManagerStatus has the address.
    manager = _node({"ID": "m1", "Description": {"Hostname": "manager"},
                     "Spec": {"Role": "manager", "Availability": "active"},
                     "Status": {"State": "ready", "Addr": "0.0.0.0"},
                     "ManagerStatus": {"Leader": True, "Addr": "10.215.3.2:2377"}},
                    current="m1")
    assert (manager.address, manager.current, manager.labels) == ("10.215.3.2", True, {})
