"""Fixtures that deploy the example stack for real, as a separate copy of it.

Every run uses its own project name (`pjtest-<random>`), free ports on 127.0.0.1 and
free subnets, so it can run beside a deployed stack. Objects left by a crashed
run (projects named `pjtest-*`) are removed first; everything is removed after.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest

REPO = Path(__file__).resolve().parents[2]
TEST_PREFIX = "pjtest-"
INVOKE = [sys.executable, "-m", "invoke"]


@dataclass(frozen=True)
class Copy:
    """One deployed copy of the example: how to reach it and how to drive it."""

    project: str
    root: Path
    env: dict[str, str]
    http_port: int
    https_port: int
    isolated: str
    services: str

    def invoke(self, *args: str, check: bool = True, extra_env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*INVOKE, *args], cwd=self.root, text=True,
                                capture_output=True, env={**self.env, **(extra_env or {})},
                                timeout=1800)
        if check and result.returncode != 0:
            raise AssertionError(f"invoke {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_subnets(client: docker.DockerClient, count: int) -> list[str]:
    """/24s in 10.213.0.0/16 that no network on this engine uses."""
    taken = [ipaddress.ip_network(c["Subnet"]) for n in client.api.networks()
             for c in (n.get("IPAM") or {}).get("Config") or [] if "Subnet" in c]
    found: list[str] = []
    candidates = list(ipaddress.ip_network("10.213.0.0/16").subnets(new_prefix=24))
    start = secrets.randbelow(len(candidates))
    for candidate in candidates[start:] + candidates[:start]:
        if not any(candidate.overlaps(t) for t in taken):
            found.append(str(candidate))
            if len(found) == count:
                return found
    raise RuntimeError("no free /24 in 10.213.0.0/16 for the test networks")


STALE_AFTER = 3 * 3600  # seconds: a crashed run's leftovers, never a run still going


def stale_projects(client: docker.DockerClient) -> set[str]:
    """`pjtest-*` projects whose networks are older than STALE_AFTER: another test session
    may be running beside this one, so only old leftovers are removed."""
    found: set[str] = set()
    now = time.time()
    for network in client.api.networks(filters={"label": "pojemnik.project"}):
        project = (network.get("Labels") or {}).get("pojemnik.project", "")
        created = network.get("Created", "")
        try:
            stamp = datetime.fromisoformat(created[:26].rstrip("Z")).replace(tzinfo=UTC)
        except ValueError:
            continue
        if project.startswith(TEST_PREFIX) and now - stamp.timestamp() > STALE_AFTER:
            found.add(project)
    return found


def remove_projects(client: docker.DockerClient, match: str, images: bool = True) -> None:
    """Remove containers, networks, volumes and images of projects named `match*`."""
    def ours(labels: dict[str, str] | None) -> bool:
        return (labels or {}).get("pojemnik.project", "").startswith(match)

    for container in client.api.containers(all=True, filters={"label": "pojemnik.project"}):
        if ours(container.get("Labels")):
            client.api.remove_container(container["Id"], force=True, v=False)
    for network in client.api.networks(filters={"label": "pojemnik.project"}):
        if ours(network.get("Labels")):
            client.api.remove_network(network["Id"])
    for volume in client.api.volumes(filters={"label": "pojemnik.project"}).get("Volumes") or []:
        if ours(volume.get("Labels")):
            client.api.remove_volume(volume["Name"], force=True)
    if images:
        for image in client.api.images():
            for tag in image.get("RepoTags") or []:
                if tag.startswith(match):
                    client.api.remove_image(tag, force=True, noprune=False)


@pytest.fixture(scope="session")
def client() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    client.ping()
    yield client
    client.close()


@pytest.fixture(scope="session")
def stale_cleaned(client: docker.DockerClient) -> Iterator[None]:
    """Remove what a crashed earlier run left; each copy removes its own at the end."""
    for project in sorted(stale_projects(client)):
        remove_projects(client, project)
    yield
    for project in sorted(MADE):
        remove_projects(client, project)


MADE: set[str] = set()  # projects this session made: removed at its end, whatever happened


def make_copy(client: docker.DockerClient, root: Path) -> Copy:
    project = f"{TEST_PREFIX}{secrets.token_hex(3)}"
    MADE.add(project)
    isolated, services = free_subnets(client, 2)
    http_port, https_port = free_port(), free_port()
    env = {
        **os.environ,
        "POJEMNIK_PROJECT": project,
        "HTTP_PORT": str(http_port),
        "HTTPS_PORT": str(https_port),
        "PUBLISH_ADDRESS": "127.0.0.1",
        "ISOLATED_SUBNET": isolated,
        "SERVICES_SUBNET": services,
    }
    return Copy(project, root, env, http_port, https_port, isolated, services)


@pytest.fixture(scope="session")
def example_copy(client: docker.DockerClient, stale_cleaned: None) -> Iterator[Copy]:
    """The repository's own example, as project pjtest-*; not yet deployed."""
    copy = make_copy(client, REPO)
    yield copy
    remove_projects(client, copy.project)
    shutil.rmtree(REPO / ".secrets" / copy.project, ignore_errors=True)


@pytest.fixture(scope="session")
def deployed(example_copy: Copy) -> Copy:
    example_copy.invoke("deploy")
    return example_copy


def copy_example(root: Path) -> Path:
    """The example's repository files (no .env, no secrets) copied into `root`."""
    for name in ("tasks.py", "stack.py", ".env.example"):
        shutil.copy2(REPO / name, root / name)
    for name in ("images", "config", "www"):
        shutil.copytree(REPO / name, root / name)
    return root


def deployed_copy(client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory,
                  name: str) -> Iterator[Copy]:
    """A module's own deployed copy of the example (its own project, ports, subnets),
    removed with everything it made when the module is done."""
    copy = make_copy(client, copy_example(tmp_path_factory.mktemp(name)))
    copy.invoke("deploy")
    yield copy
    remove_projects(client, copy.project)


@pytest.fixture()
def scratch_repo(tmp_path: Path, stale_cleaned: None) -> Path:
    """A copy of the example repository to break on purpose (its own .env)."""
    return copy_example(tmp_path)
