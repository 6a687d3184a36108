"""The swarm test environment itself works: two Ready nodes, an overlay network that
carries TCP between tasks on both nodes (dnsrr), and host-mode published ports."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from ..remote.hosts import quote
from .cluster import (
    HTTP_PORT,
    MANAGER,
    NODES,
    WORKER,
    SwarmCluster,
    known_hosts_text,
    read_line,
    resolve_all,
    task_container,
)

pytestmark = pytest.mark.swarm

OVERLAY = "pjenv-overlay"
OVERLAY_SUBNET = "172.31.240.0/24"  # inside the nodes only (VXLAN between them)
SERVICE = "pjenv-echo"
# Answers every connection with the name of the node its task runs on; only perl-base.
ECHO = ("use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => '0.0.0.0', "
        "LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die $!; "
        "while (my $c = $s->accept) { print $c \"$ENV{NODE}\\n\"; close $c }")


def test_both_nodes_are_ready(swarm_cluster: SwarmCluster) -> None:
    listed = swarm_cluster.manager.run(
        "docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} "
        "{{.ManagerStatus}}'").text.splitlines()
    assert sorted(listed) == ["manager Ready Active Leader", "worker Ready Active "]
    for name, host in swarm_cluster.nodes.items():
        assert host.run("hostname").text.strip() == name
        state = host.run("docker info --format '{{.Swarm.LocalNodeState}}'").text.strip()
        assert state == "active"
        assert ipaddress.ip_address(host.network_address) in \
            ipaddress.ip_network(swarm_cluster.subnet)
    addr = swarm_cluster.manager.run("docker node inspect worker --format '{{.Status.Addr}}'")
    assert addr.text.strip() == swarm_cluster.addresses[WORKER]


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client on this machine")
def test_the_worker_through_the_manager(swarm_cluster: SwarmCluster) -> None:
    """known_hosts lists the worker under its Swarm address: ProxyJump with strict keys."""
    assert swarm_cluster.known_hosts_path.read_text() == known_hosts_text(swarm_cluster.nodes)
    for alias, expected in (("pjswarm-worker", "deploy worker"),
                            ("pjswarm-worker-root", "root worker"),
                            ("pjswarm-manager", "deploy manager")):
        result = subprocess.run(["ssh", "-F", str(swarm_cluster.ssh_config_path), alias,
                                 "echo $(whoami) $(hostname)"],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.stdout.strip() == expected, result.stderr


@pytest.fixture(scope="module")
def echo_service(swarm_cluster: SwarmCluster, swarm_base_image: str) -> Iterator[str]:
    """A global service (a task on each node) on an overlay network with a fixed subnet,
    endpoint mode dnsrr, its port published in host mode on every node."""
    manager = swarm_cluster.manager
    try:
        manager.run(f"docker network create --driver overlay --subnet {OVERLAY_SUBNET} "
                    f"{OVERLAY}")
        # --detach: the CLI's own wait adds a 5 s "verify" period; the tests wait for what
        # they need (a task on each node, then its answer).
        manager.run(f"docker service create --detach --quiet --name {SERVICE} "
                    f"--mode global --endpoint-mode dnsrr --network {OVERLAY} "
                    f"--publish mode=host,target=8080,published={HTTP_PORT} "
                    f"--env 'NODE={{{{.Node.Hostname}}}}' {swarm_base_image} "
                    f"perl -e {quote(ECHO)}")
        yield SERVICE
    finally:
        manager.run(f"docker service rm {SERVICE}", check=False)
        # The network goes once the tasks' endpoints have (retried while they stop).
        manager.run(f"for i in $(seq 60); do docker network rm {OVERLAY} >/dev/null 2>&1 "
                    "&& exit 0; sleep 0.5; done; exit 1")


def test_overlay_carries_tcp_between_the_nodes(swarm_cluster: SwarmCluster,
                                               echo_service: str) -> None:
    for name, node in swarm_cluster.nodes.items():
        container = task_container(node, echo_service)
        # dnsrr: the service name resolves to every task's own address, once the other
        # node's task has started and its endpoint has reached this node (gossip): waited for.
        resolved = resolve_all(node, container, echo_service)
        addresses = sorted({line.split()[0] for line in resolved.splitlines()})
        assert len(addresses) == len(NODES), resolved
        assert all(ipaddress.ip_address(a) in ipaddress.ip_network(OVERLAY_SUBNET)
                   for a in addresses)
        answers = set()
        for address in addresses:
            probe = (f"exec 3<>/dev/tcp/{address}/8080; head -n 1 <&3")
            answers.add(node.run(f"docker exec {container} timeout 10 bash -c "
                                 f"{quote(probe)}").text.strip())
        # From this node's task, both tasks answer: one of them over VXLAN from the other.
        assert answers == set(NODES), (name, answers)


def test_host_mode_port_answers_on_the_node_running_the_task(swarm_cluster: SwarmCluster,
                                                            echo_service: str) -> None:
    for name in (MANAGER, WORKER):
        assert read_line(swarm_cluster.published(name, HTTP_PORT)) == name
