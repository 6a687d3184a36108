"""Images reach every Swarm node without a registry: `fab -H deploy@manager images.push
--swarm` ships them from here to the manager and, through it, to the worker; the same
image id on both, a second push skips both; an unreachable node stops it before anything
is sent; a worker is not taken for a manager."""

from __future__ import annotations

import io
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass

import docker
import pytest

from pojemnik.console import say
from pojemnik.engine.local import connect_local
from pojemnik.engine.over_ssh import connect_over_ssh
from pojemnik.errors import DockerError, OperationError
from pojemnik.operations.images.every_node import connect_through, push_to_nodes

from ..remote.conftest import FAB, REPO
from ..remote.hosts import known_hosts_line
from .cluster import MANAGER, WORKER, SwarmCluster

pytestmark = pytest.mark.swarm


def image_id(cluster: SwarmCluster, node: str, tag: str) -> str:
    result = cluster.nodes[node].run(f"docker image inspect -f '{{{{.Id}}}}' {tag}", check=False)
    return result.text.strip() if result.returncode == 0 else ""


@dataclass(frozen=True)
class Project:
    name: str
    env: dict[str, str]

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(argv, cwd=REPO, env=self.env, text=True, capture_output=True,
                                timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
        return result


@pytest.fixture(scope="module")
def project(swarm_cluster: SwarmCluster, swarm_base_image: str) -> Iterator[Project]:
    """The example's settings under a project of its own, its proxy image built here
    (from the layer cache the other tests share)."""
    name = f"pjswarm-ship-{secrets.token_hex(3)}"
    env = {**os.environ, "POJEMNIK_PROJECT": name, "BASE_IMAGE": swarm_base_image,
           "POJEMNIK_KNOWN_HOSTS": str(swarm_cluster.known_hosts_path)}
    try:
        project = Project(name, env)
        project.run([sys.executable, "-m", "invoke", "images.build", "--name", "proxy"])
        yield project
    finally:
        subprocess.run(["docker", "rmi", f"{name}/proxy:latest"], capture_output=True)
        for made in (REPO / ".secrets" / name, REPO / ".pojemnik" / name,
                     REPO / ".pojemnik" / "logs" / name):
            shutil.rmtree(made, ignore_errors=True)
        (REPO / ".pojemnik" / f"{name}.json").unlink(missing_ok=True)


def test_images_push_swarm_ships_to_every_node_once(swarm_cluster: SwarmCluster,
                                                    project: Project) -> None:
    tag = f"{project.name}/proxy:latest"
    local = docker.from_env()
    try:
        built = local.images.get(tag).id
    finally:
        local.close()
    fab = [*FAB, "-H", swarm_cluster.fab_host(), "-i", str(swarm_cluster.key.private_path),
           "images.push", "--swarm", "--name", "proxy"]
    first = project.run(fab).stdout
    assert f"[{MANAGER}] image {tag}: sending" in first
    assert f"[{WORKER}] image {tag}: sending" in first
    assert f"image {tag}: {built[:19]} on all 2 nodes" in first
    assert image_id(swarm_cluster, MANAGER, tag) == image_id(swarm_cluster, WORKER, tag) == built

    again = project.run(fab).stdout
    for node in (MANAGER, WORKER):
        assert f"[{node}] image {tag}: already on the host" in again
    assert "sending" not in again


@pytest.fixture
def tiny_image() -> Iterator[str]:
    """A one-file image made here (`docker import`), under a tag no node has."""
    tag = f"pjswarm-tiny:{secrets.token_hex(4)}"
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        content = tag.encode()
        info = tarfile.TarInfo("tag.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    client = docker.from_env()
    try:
        repository, _, version = tag.partition(":")
        client.api.import_image_from_data(data.getvalue(), repository=repository, tag=version)
        yield tag
    finally:
        client.api.remove_image(tag, force=True)
        client.close()


def test_an_unreachable_node_stops_the_push_before_anything_is_sent(
        swarm_cluster: SwarmCluster, tiny_image: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # known_hosts without the worker under its Swarm address: it cannot be reached.
    known = swarm_cluster.workdir / "known_hosts_manager_only"
    manager = swarm_cluster.manager
    known.write_text(known_hosts_line(manager.host, manager.port, manager.host_key) + "\n")
    monkeypatch.setenv("POJEMNIK_KNOWN_HOSTS", str(known))
    local = connect_local()
    connection = manager.fabric_connection()
    try:
        engine = connect_over_ssh(connection, say)
        try:
            with pytest.raises(OperationError) as refused:
                push_to_nodes(local, engine, connect_through(connection, say), [tiny_image], say)
        finally:
            engine.close()
    finally:
        connection.close()
        local.close()
    worker = swarm_cluster.addresses[WORKER]
    message = str(refused.value)
    assert f"cannot reach Swarm node {WORKER} (worker, {worker})" in message
    assert f"unknown host key ({worker} is not in {known}" in message
    assert "Nothing was sent to any node" in message
    assert image_id(swarm_cluster, MANAGER, tiny_image) == ""


def test_a_worker_is_not_taken_for_a_manager(swarm_cluster: SwarmCluster,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POJEMNIK_KNOWN_HOSTS", str(swarm_cluster.known_hosts_path))
    connection = swarm_cluster.worker.fabric_connection()
    try:
        engine = connect_over_ssh(connection, say)
        try:
            with pytest.raises(DockerError, match="is a worker node of a Swarm; connect to a "
                                                  "Swarm manager"):
                engine.nodes()
        finally:
            engine.close()
    finally:
        connection.close()
