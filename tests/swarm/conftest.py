"""Session fixture `swarm_cluster`: two SSH test hosts (manager, worker) joined into a Swarm.

tests/docker-compose.yml's `swarm` profile defines `manager` and `worker`: the tests/remote
`server` image (sshd + its own Docker engine) with HTTP_PORT/HTTPS_PORT published too. Per
run (see tests/remote/lifecycle.py, shared with tests/remote):

- a fresh ed25519 key pair in a tmp dir, handed to the nodes as AUTHORIZED_KEY;
- the project `pjswarm-<random>` on a free /24 in 10.215.0.0/16 (tests/integration uses
  10.213/16, tests/remote 10.214/16); `down -v` at the end removes the nodes, their network
  and their engines' volumes, so the Swarm goes with them; stale `pjswarm-*` projects (>3 h)
  are removed first;
- host keys read with `docker exec` into known_hosts, under every name a node is reached by;
- `docker swarm init --advertise-addr eth0` on manager, `docker swarm join` on worker,
  then both must be Ready.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import secrets
import time
from collections.abc import Iterator

import docker
import pytest
from pytest_docker.plugin import DockerComposeExecutor

from ..remote.hosts import BASE_IMAGE, RemoteHost, generate_keypair, push_image, quote
from ..remote.lifecycle import (
    COMPOSE_FILE,
    can_login,
    compose_command,
    compose_container,
    free_subnet,
    network_address,
    read_host_key,
    render_ssh_config,
    started_hosts,
)
from .cluster import HTTP_PORT, HTTPS_PORT, MANAGER, NODES, WORKER, SwarmCluster, known_hosts_text

PROJECT_PREFIX = "pjswarm-"
SUBNET_POOL = "10.215.0.0/16"
JOIN_TIMEOUT = 120.0


@pytest.fixture(scope="session")
def swarm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwarmCluster]:
    """The two-node Swarm of this run (see SwarmCluster)."""
    workdir = tmp_path_factory.mktemp("pjswarm")
    key = generate_keypair(workdir, comment="pjswarm-tests")
    project = f"{PROJECT_PREFIX}{secrets.token_hex(4)}"
    client = docker.from_env()
    try:
        subnet = free_subnet(client, SUBNET_POOL)
        command = compose_command(workdir, {"PJREMOTE_AUTHORIZED_KEY": key.public_line,
                                            "PJREMOTE_SUBNET": subnet,
                                            "PJREMOTE_BASE_IMAGE": BASE_IMAGE},
                                  "--profile", "swarm")
        with started_hosts(client, command, project, PROJECT_PREFIX, workdir,
                           services=NODES) as services:
            known_hosts = workdir / "known_hosts"
            nodes: dict[str, RemoteHost] = {}
            for name in NODES:
                container = compose_container(client, project, name)
                nodes[name] = RemoteHost(
                    name=name, port=services.port_for(name, 22), user="deploy",
                    key_path=key.private_path, known_hosts_path=known_hosts,
                    host_key=read_host_key(container), container=container.name,
                    network_address=network_address(container))
            known_hosts.write_text(known_hosts_text(nodes))
            for login in [*nodes.values(), *(h.as_user("root") for h in nodes.values())]:
                services.wait_until_responsive(check=lambda login=login: can_login(login),
                                               timeout=120.0, pause=1.0)
            cluster = SwarmCluster(
                project=project, workdir=workdir, key=key, known_hosts_path=known_hosts,
                ssh_config_path=workdir / "ssh_config", subnet=subnet,
                manager=nodes[MANAGER], worker=nodes[WORKER],
                ports={name: {port: services.port_for(name, port)
                              for port in (HTTP_PORT, HTTPS_PORT)} for name in NODES},
                compose=DockerComposeExecutor(command, str(COMPOSE_FILE), project))
            cluster.ssh_config_path.write_text(ssh_config(cluster))
            form_swarm(cluster)
            yield cluster
    finally:
        client.close()


@pytest.fixture(scope="session")
def swarm_base_image(swarm_cluster: SwarmCluster) -> str:
    """BASE_IMAGE loaded into both nodes' engines (in parallel); returns its tag."""
    with concurrent.futures.ThreadPoolExecutor(len(NODES)) as pool:
        for loaded in pool.map(lambda host: push_image(host, BASE_IMAGE),
                               swarm_cluster.nodes.values()):
            assert BASE_IMAGE in loaded.text, loaded.text + loaded.err
    return BASE_IMAGE


def ssh_config(cluster: SwarmCluster) -> str:
    """`ssh -F` aliases: pjswarm-manager(-root), pjswarm-worker(-root) through the manager
    (ProxyJump, by its address), pjswarm-worker-direct (from 127.0.0.1)."""
    behind = dataclasses.replace(cluster.worker, host=cluster.worker.network_address, port=22)
    aliases = {"pjswarm-manager": cluster.manager, "pjswarm-manager-root": cluster.manager_root,
               "pjswarm-worker": behind, "pjswarm-worker-root": behind.as_user("root"),
               "pjswarm-worker-direct": cluster.worker}
    return render_ssh_config(aliases, {"pjswarm-worker": "pjswarm-manager",
                                       "pjswarm-worker-root": "pjswarm-manager"})


def form_swarm(cluster: SwarmCluster) -> None:
    """Manager inits (advertising its eth0), worker joins; both Ready, or fail with why."""
    manager, worker = cluster.manager_root, cluster.worker_root
    manager.run("docker swarm init --advertise-addr eth0")
    token = manager.run("docker swarm join-token -q worker").text.strip()
    worker.run(f"docker swarm join --token {quote(token)} "
               f"{cluster.manager.network_address}:2377")
    deadline = time.monotonic() + JOIN_TIMEOUT
    while True:
        listed = manager.run("docker node ls --format '{{.Hostname}} {{.Status}}'").text
        if sorted(listed.split("\n")[:-1]) == [f"{MANAGER} Ready", f"{WORKER} Ready"]:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the swarm did not form within {JOIN_TIMEOUT:.0f} s:\n"
                                 f"{listed}")
        time.sleep(0.5)
