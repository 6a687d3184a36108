"""The host's watcher (engine/host/pojemnik-heal), run as its systemd timer would, against
the real engine: a container that hangs unhealthy is restarted, a healthy one is not."""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import docker
import pytest

from pojemnik.engine.docker_engine import DockerEngine
from pojemnik.operations.images.base import ensure_base

from .conftest import Copy

pytestmark = pytest.mark.integration

BASE = "debian:bookworm-slim"


@pytest.fixture()
def project(client: docker.DockerClient) -> Iterator[str]:
    name = f"pjtest-heal-{secrets.token_hex(3)}"
    yield name
    for row in client.api.containers(all=True, filters={"label": f"pojemnik.project={name}"}):
        client.api.remove_container(row["Id"], force=True)


def start(client: docker.DockerClient, project: str, service: str, healthy: bool) -> str:
    """A container that keeps running whatever its health: `sleep`, checked by a file."""
    ensure_base(DockerEngine(client), BASE, lambda line: None)  # made from Debian packages
    command = "touch /tmp/ok; exec sleep 600" if healthy else "exec sleep 600"
    container = client.api.create_container(
        BASE, ["sh", "-c", command], name=f"{project}-{service}",
        labels={"pojemnik.project": project, "pojemnik.heal-after": "2"},
        healthcheck={"test": ["CMD", "test", "-f", "/tmp/ok"], "interval": 500_000_000,
                     "timeout": 1_000_000_000, "retries": 1, "start_period": 0})
    client.api.start(container["Id"])
    return str(container["Id"])


def started_at(client: docker.DockerClient, container: str) -> str:
    return str(client.api.inspect_container(container)["State"]["StartedAt"])


def test_an_unhealthy_container_is_restarted_and_a_healthy_one_left(
        client: docker.DockerClient, project: str, tmp_path: Path) -> None:
    sick = start(client, project, "sick", healthy=False)
    well = start(client, project, "well", healthy=True)
    first_sick, first_well = started_at(client, sick), started_at(client, well)
    script = resources.files("pojemnik.engine") / "host" / "pojemnik-heal"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "POJEMNIK_HEAL_STATE": str(tmp_path / "s"),
           "POJEMNIK_HEAL_LOG": str(tmp_path / "heal.log")}
    # The timer runs it every 20 s; here, every second, for at most a minute.
    for _ in range(60):
        subprocess.run(["sh", str(script)], env=env, check=True, timeout=60)
        if started_at(client, sick) != first_sick:
            break
        time.sleep(1)
    log = (tmp_path / "heal.log").read_text()
    assert started_at(client, sick) != first_sick, log
    assert f"{project}-sick: unhealthy for" in log and "restarting" in log
    assert started_at(client, well) == first_well
    assert f"{project}-well" not in log
    # Backoff: run again at once, the sick one (unhealthy again soon) is not restarted.
    second = started_at(client, sick)
    subprocess.run(["sh", str(script)], env=env, check=True, timeout=60)
    assert started_at(client, sick) == second


def test_the_example_opts_in_to_healing(deployed: Copy, client: docker.DockerClient) -> None:
    rows = client.api.containers(filters={"label": f"pojemnik.project={deployed.project}"})
    assert rows
    for row in rows:
        assert row["Labels"].get("pojemnik.heal-after") == "3", row["Names"]
