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
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from pytest_docker.plugin import DockerComposeExecutor, Services

from .hosts import (
    BASE_IMAGE,
    KeyPair,
    RemoteEnv,
    RemoteHost,
    generate_keypair,
    known_hosts_line,
)
from .lifecycle import (
    COMPOSE_FILE,
    DOWN,
    UP,
    can_login,
    compose_command,
    compose_container,
    free_subnet,
    network_address,
    read_host_key,
    render_ssh_config,
    started_hosts,
)

PROJECT_PREFIX = "pjremote-"
SUBNET_POOL = "10.214.0.0/16"
SERVICES = ("server", "old-server")


# --- pytest-docker's fixtures, overridden -------------------------------------------------

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
    return free_subnet(remote_docker, SUBNET_POOL)


@pytest.fixture(scope="session")
def docker_compose_command(remote_workdir: Path, remote_keypair: KeyPair,
                           remote_subnet: str) -> str:
    return compose_command(remote_workdir, {"PJREMOTE_AUTHORIZED_KEY": remote_keypair.public_line,
                                            "PJREMOTE_SUBNET": remote_subnet,
                                            "PJREMOTE_BASE_IMAGE": BASE_IMAGE})


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return f"{PROJECT_PREFIX}{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    return [UP]


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    return [DOWN]


@pytest.fixture(scope="session")
def docker_services(docker_compose_command: str, docker_compose_project_name: str,
                    docker_setup: list[str], docker_cleanup: list[str],
                    remote_docker: docker.DockerClient,
                    remote_workdir: Path) -> Iterator[Services]:
    """pytest-docker's, except that a failed `up` is cleaned up too (and shows the logs)."""
    with started_hosts(remote_docker, docker_compose_command, docker_compose_project_name,
                       PROJECT_PREFIX, remote_workdir, setup=tuple(docker_setup),
                       cleanup=tuple(docker_cleanup)) as services:
        yield services


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
        hosts[service] = RemoteHost(
            name=service, port=docker_services.port_for(service, 22), user="root",
            key_path=remote_keypair.private_path, known_hosts_path=known_hosts,
            host_key=read_host_key(container), container=container.name,
            network_address=network_address(container))
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
