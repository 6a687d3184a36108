"""What the swarm tests get: `SwarmCluster`, two SSH test hosts joined into one Swarm.

Both nodes are the tests/remote `server` image (sshd + their own Docker engine); pojemnik
reaches the manager over SSH from 127.0.0.1 and the worker THROUGH the manager
(ProxyJump), by the address the manager's engine reports for it (`docker node inspect`,
Status.Addr). known_hosts lists each node's host key under every name it is reached by.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_docker.plugin import DockerComposeExecutor

from ..remote.hosts import KeyPair, RemoteHost, known_hosts_line

# The node names: compose services, hostnames, and Swarm node hostnames.
MANAGER, WORKER = "manager", "worker"
NODES = (MANAGER, WORKER)
HTTP_PORT, HTTPS_PORT = 8080, 8443  # published by each node on an ephemeral 127.0.0.1 port


@dataclass(frozen=True, kw_only=True)
class SwarmCluster:
    """One run's two-node Swarm. `manager`/`worker` are deploy@ logins from 127.0.0.1
    (host/port: the node's sshd published on 127.0.0.1; network_address: its IPv4 on the
    nodes' network, which is also its Swarm address)."""

    project: str  # compose project, pjswarm-<8 hex>
    workdir: Path  # tmp dir: key pair, known_hosts, ssh_config, compose.env
    key: KeyPair
    known_hosts_path: Path
    ssh_config_path: Path  # aliases: see SSH_ALIASES in conftest.py / the README
    subnet: str  # the nodes' network (a /24 in 10.215.0.0/16)
    manager: RemoteHost  # deploy@manager
    worker: RemoteHost  # deploy@worker (directly, for the tests' own checks)
    ports: dict[str, dict[int, int]]  # node -> {port in the node: port on 127.0.0.1}
    compose: DockerComposeExecutor  # .execute("logs worker") etc.

    @property
    def manager_root(self) -> RemoteHost:
        return self.manager.as_user("root")

    @property
    def worker_root(self) -> RemoteHost:
        return self.worker.as_user("root")

    @property
    def nodes(self) -> dict[str, RemoteHost]:
        """Node name -> deploy@ login."""
        return {MANAGER: self.manager, WORKER: self.worker}

    @property
    def addresses(self) -> dict[str, str]:
        """Node name -> its address on the nodes' network (its Swarm address)."""
        return {name: host.network_address for name, host in self.nodes.items()}

    def published(self, node: str, port: int) -> int:
        """The 127.0.0.1 port where `node`'s `port` (HTTP_PORT or HTTPS_PORT) answers."""
        return self.ports[node][port]

    def fab_host(self) -> str:
        """`fab -H` for deploy@manager (add `-i str(cluster.key.private_path)`)."""
        return f"{self.manager.user}@{self.manager.host}:{self.manager.port}"


def known_hosts_text(nodes: dict[str, RemoteHost]) -> str:
    """Each node's key as the tests reach it ([127.0.0.1]:PORT) and as pojemnik reaches
    it through the manager (its name and its address, port 22)."""
    lines = []
    for name, host in nodes.items():
        for where, port in ((host.host, host.port), (name, 22), (host.network_address, 22)):
            lines.append(known_hosts_line(where, port, host.host_key) + "\n")
    return "".join(lines)


def read_line(port: int, host: str = "127.0.0.1", timeout: float = 60.0) -> str:
    """The first line a TCP server at host:port sends, retried while it is not yet there."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            data = b""
            with socket.create_connection((host, port), timeout=5) as conn:
                while b"\n" not in data and (chunk := conn.recv(4096)):
                    data += chunk
            if data:
                return data.decode().splitlines()[0].strip()
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing answered on {host}:{port} within {timeout:.0f} s")
        time.sleep(0.5)


def task_container(node: RemoteHost, service: str, timeout: float = 60.0) -> str:
    """The id of the running task container of `service` on `node` (waited for)."""
    found = node.run(f"for i in $(seq {int(timeout * 2)}); do id=$(docker ps -q --filter "
                     f"label=com.docker.swarm.service.name={service}); "
                     '[ -n "$id" ] && echo "$id" && exit 0; sleep 0.5; done; exit 1',
                     check=False)
    assert found.returncode == 0, f"no task of {service} on {node.name} within {timeout} s"
    return found.text.strip()


def resolve_all(node: RemoteHost, container: str, name: str, timeout: float = 60.0) -> str:
    """`getent ahostsv4 name` inside the container, retried until it lists one address
    per node (or the timeout passes: the last answer is returned for the assertion)."""
    script = (f"for i in $(seq {int(timeout * 2)}); do "
              f"out=$(docker exec {container} getent ahostsv4 {name}); "
              f"n=$(printf '%s\\n' \"$out\" | awk '{{print $1}}' | sort -u | grep -c .); "
              f"[ \"$n\" -ge {len(NODES)} ] && break; sleep 0.5; done; "
              "printf '%s\\n' \"$out\"")
    return node.run(script, check=False).text
