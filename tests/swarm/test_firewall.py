"""`fab -H deploy@manager firewall.*` on the two-node Swarm: the rules go on both nodes
(the worker reached through the manager), the cluster keeps working, and ports that
Swarm publishes (host mode: through docker_gwbridge) are filtered like any other.

A small project of its own (written to a tmp dir: stack.py publishing 8080 on 0.0.0.0,
target swarm, a Firewall driven by two settings) and, outside it, two global services:
`pjfw-echo` on an overlay network, published in host mode on 8080 (declared), and
`pjfw-undeclared` published in host mode on 8443 (not declared). Both answer with the
name of their node. Each is checked reachable before the first apply, so every "blocked"
below is the firewall's doing. "Outside" is the test process: it reaches each node's
8080/8443 through the 127.0.0.1 ports compose publishes, arriving from the nodes'
network gateway, which is not a node.

The tests run in file order and share the rules: apply, apply again, an allow-list on
the published port then rollback, and a declaration that breaks the cluster (Swarm's
ports closed: swarm=False), undone by both nodes' dead-man restores. The fixture removes
the rules, files, services and network it made.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..remote.conftest import FAB
from ..remote.hosts import quote
from ..remote.test_firewall import CLEANUP
from .cluster import (
    HTTP_PORT,
    HTTPS_PORT,
    MANAGER,
    NODES,
    WORKER,
    SwarmCluster,
    read_line,
    resolve_all,
    task_container,
)

pytestmark = pytest.mark.swarm

OVERLAY = "pjfw-overlay"
OVERLAY_SUBNET = "172.31.241.0/24"
ECHO, UNDECLARED = "pjfw-echo", "pjfw-undeclared"
TIMEOUT = "45"  # the dead-man window (this Swarm's heartbeat is 5 s: 38 s at least)
NOT_US = "192.0.2.0/24"  # TEST-NET-1: an allow-list that does not include the test process
ANSWER = ("use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => '0.0.0.0', "
          "LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die $!; "
          "while (my $c = $s->accept) { print $c \"$ENV{NODE}\\n\"; close $c }")
STACK = '''
from pathlib import Path

from pojemnik import Firewall, Port, Service, Stack


def declare(settings):
    allow = [s for s in settings.get("FW_ALLOW_8080", "").split(",") if s]
    return Stack(
        project=settings["POJEMNIK_PROJECT"], root=Path(__file__).parent, target="swarm",
        services=[Service("web", image="web", ports=[Port(8080, 8080, "0.0.0.0")])],
        firewall=Firewall(swarm=settings.get("FW_SWARM", "1") == "1",
                          allow={8080: allow} if allow else {}))
'''
FABFILE = '''
from pathlib import Path

from pojemnik.tasks import namespace

ns = namespace(Path(__file__).parent)
'''


@dataclass(frozen=True)
class Project:
    cluster: SwarmCluster
    root: Path
    env: dict[str, str]

    def fab(self, *args: str, check: bool = True, **settings: str
            ) -> subprocess.CompletedProcess[str]:
        argv = [*FAB, "-H", self.cluster.fab_host(), "-i", str(self.cluster.key.private_path),
                *args]
        result = subprocess.run(argv, cwd=self.root, env={**self.env, **settings}, text=True,
                                capture_output=True, timeout=600)
        print(f"\n--- fab {' '.join(args)} {settings} ---\n{result.stdout}{result.stderr}")
        if check and result.returncode != 0:
            raise AssertionError(f"fab {' '.join(args)} failed ({result.returncode})")
        return result

    def status(self, **settings: str) -> dict[str, object]:
        document: dict[str, object] = json.loads(
            self.fab("firewall.status", "--json", **settings).stdout)
        return document


def answer(port: int) -> str | None:
    """The first line a node's published port sends to the test process; None when
    nothing comes within 5 s (a dropped connection is not refused, it is never answered)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            data = b""
            while b"\n" not in data and (chunk := conn.recv(4096)):
                data += chunk
    except OSError:
        return None
    return data.decode().strip() or None


def eventually(check: Callable[[], bool], attempts: int = 60) -> bool:
    for _ in range(attempts):
        if check():
            return True
        time.sleep(1)
    return False


def overlay_answers(cluster: SwarmCluster) -> dict[str, set[str]]:
    """From each node's echo task: the nodes whose echo task answers a NEW connection to
    its overlay address (one of them over VXLAN, through both nodes' rules)."""
    found: dict[str, set[str]] = {}
    for name, node in cluster.nodes.items():
        container = task_container(node, ECHO)
        resolved = resolve_all(node, container, ECHO)
        found[name] = set()
        for address in sorted({line.split()[0] for line in resolved.splitlines()}):
            assert ipaddress.ip_address(address) in ipaddress.ip_network(OVERLAY_SUBNET)
            probe = f"exec 3<>/dev/tcp/{address}/8080; head -n 1 <&3"
            result = node.run(f"docker exec {container} timeout 5 bash -c {quote(probe)}",
                              check=False)
            if result.returncode == 0:
                found[name].add(result.text.strip())
    return found


def overlay_works(cluster: SwarmCluster) -> bool:
    return overlay_answers(cluster) == {name: set(NODES) for name in NODES}


def published(cluster: SwarmCluster, port: int) -> dict[str, str | None]:
    """What each node's published `port` answers from outside."""
    return {name: answer(cluster.published(name, port)) for name in NODES}


def both_ready(cluster: SwarmCluster) -> bool:
    listed = cluster.manager.run("docker node ls --format '{{.Hostname}} {{.Status}}'").text
    return sorted(listed.split()) == sorted([MANAGER, "Ready", WORKER, "Ready"])


def live(cluster: SwarmCluster, node: str) -> str:
    """The node's IPv4 filter rules of pojemnik's chains and the jumps to them."""
    root = cluster.manager_root if node == MANAGER else cluster.worker_root
    return root.run("iptables -S | grep POJEMNIK").text


def gwbridge_dnat(cluster: SwarmCluster, node: str, port: int) -> bool:
    """The node sends its published `port` to an address on docker_gwbridge (Swarm's
    path; a task without a network would be on docker0)."""
    root = cluster.manager_root if node == MANAGER else cluster.worker_root
    subnet = root.run("docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' "
                      "docker_gwbridge").text.strip()
    rules = root.run("iptables -t nat -S DOCKER").text.splitlines()
    [rule] = [r for r in rules if f"--dport {port} -j DNAT" in r]
    address = rule.split("--to-destination ")[1].split(":")[0]
    return ipaddress.ip_address(address) in ipaddress.ip_network(subnet)


@pytest.fixture(scope="module")
def project(swarm_cluster: SwarmCluster, swarm_base_image: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("pjfw-project")
    (root / "stack.py").write_text(STACK)
    (root / "fabfile.py").write_text(FABFILE)
    (root / ".env.example").write_text("POJEMNIK_PROJECT=pjswarm-fw\n")
    env = {**os.environ, "POJEMNIK_KNOWN_HOSTS": str(swarm_cluster.known_hosts_path)}
    roots = (swarm_cluster.manager_root, swarm_cluster.worker_root)
    manager = swarm_cluster.manager
    try:
        for node in roots:
            node.run(CLEANUP)
        manager.run(f"docker network create --driver overlay --subnet {OVERLAY_SUBNET} "
                    f"{OVERLAY}")
        # On an overlay network, like a stack's services: their host-mode ports are
        # DNATed to the task's address on docker_gwbridge (without a network: on docker0).
        for service, port in ((ECHO, HTTP_PORT), (UNDECLARED, HTTPS_PORT)):
            manager.run(f"docker service create --detach --quiet --name {service} "
                        f"--mode global --endpoint-mode dnsrr --network {OVERLAY} "
                        f"--publish mode=host,target=8080,published={port} "
                        f"--env 'NODE={{{{.Node.Hostname}}}}' {swarm_base_image} "
                        f"perl -e {quote(ANSWER)}")
        for name in NODES:
            # Reachable before: what is blocked later, the firewall blocks.
            assert read_line(swarm_cluster.published(name, HTTP_PORT)) == name
            assert read_line(swarm_cluster.published(name, HTTPS_PORT)) == name
            assert gwbridge_dnat(swarm_cluster, name, HTTPS_PORT)
        assert eventually(lambda: overlay_works(swarm_cluster)), overlay_answers(swarm_cluster)
        yield Project(swarm_cluster, root, env)
    finally:
        for node in roots:
            node.run(CLEANUP, check=False)
        manager.run(f"docker service rm {ECHO} {UNDECLARED}", check=False)
        manager.run(f"for i in $(seq 60); do docker network rm {OVERLAY} >/dev/null 2>&1 "
                    "&& exit 0; sleep 0.5; done; exit 1", check=False)
        assert eventually(lambda: both_ready(swarm_cluster)), "the Swarm did not recover"


def test_apply_goes_on_every_node_and_the_cluster_keeps_working(project: Project) -> None:
    cluster = project.cluster
    result = project.fab("firewall.apply", "--timeout", TIMEOUT)
    out = result.stdout
    for name in NODES:
        assert f"{name}: restore of the previous rules armed (detached process" in out
        assert f"{name}: rules loaded" in out
    assert "confirmed by new SSH connections to every node and the Swarm's check" in out
    # Swarm's ports: from the other node only, on both nodes.
    for name, other in ((MANAGER, WORKER), (WORKER, MANAGER)):
        rules = live(cluster, name)
        source = f"{cluster.addresses[other]}/32"
        for port in ("tcp -m tcp --dport 2377", "tcp -m tcp --dport 7946",
                     "udp -m udp --dport 7946", "udp -m udp --dport 4789"):
            assert f"-A POJEMNIK-INPUT -s {source} -p {port} -j ACCEPT" in rules, (name, port)
        assert "-A POJEMNIK-DOCKER -o docker_gwbridge -j DROP" in rules
        assert "-A DOCKER-USER -j POJEMNIK-DOCKER" in rules
    # (1) the cluster: both Ready, tasks on both nodes reach each other over the overlay.
    assert both_ready(cluster)
    assert overlay_works(cluster), overlay_answers(cluster)
    # (2) published ports: the declared one answers on both nodes, the other on none.
    assert published(cluster, HTTP_PORT) == {MANAGER: MANAGER, WORKER: WORKER}
    assert published(cluster, HTTPS_PORT) == {MANAGER: None, WORKER: None}
    report = project.status()
    assert report["matches"] is True, report["drift"]
    assert sorted(report["nodes"]) == sorted(NODES)  # type: ignore[arg-type]


def test_applying_again_changes_nothing_on_any_node(project: Project) -> None:
    out = project.fab("firewall.apply", "--timeout", TIMEOUT).stdout
    assert "matches the declaration (v4, v6, every node); nothing to do" in out
    assert "armed" not in out


def test_an_allow_list_holds_for_swarms_published_port_and_rollback_undoes_it(
        project: Project) -> None:
    cluster = project.cluster
    project.fab("firewall.apply", "--timeout", TIMEOUT, FW_ALLOW_8080=NOT_US)
    assert project.status(FW_ALLOW_8080=NOT_US)["matches"] is True
    assert published(cluster, HTTP_PORT) == {MANAGER: None, WORKER: None}
    assert overlay_works(cluster)  # inside the Swarm, nothing changed
    result = project.fab("firewall.rollback", "--timeout", TIMEOUT)
    assert "rolled back to the previous rules" in result.stdout
    assert "to every node and the Swarm's check" in result.stdout
    assert project.status()["matches"] is True  # the declaration without an allow-list
    assert published(cluster, HTTP_PORT) == {MANAGER: MANAGER, WORKER: WORKER}
    assert published(cluster, HTTPS_PORT) == {MANAGER: None, WORKER: None}


def test_rules_that_break_the_cluster_are_undone_on_every_node(project: Project) -> None:
    cluster = project.cluster
    before = {name: live(cluster, name) for name in NODES}
    result = project.fab("firewall.apply", "--timeout", TIMEOUT, check=False, FW_SWARM="0")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "the Swarm FAILED after applying" in output
    manager = cluster.addresses[MANAGER]
    assert f"{WORKER} cannot open a new connection to {MANAGER} ({manager}) port 2377/tcp" \
        in output
    assert "firewall NOT applied: the Swarm did not keep working" in output
    assert "every node restored the previous rules itself (detached process)" in output
    assert "Traceback" not in output
    # Back on both nodes: the previous rules live and persisted, the cluster whole.
    assert project.status()["matches"] is True
    for name in NODES:
        root = cluster.manager_root if name == MANAGER else cluster.worker_root
        assert live(cluster, name) == before[name]
        assert "restored the previous rules (dead-man-timer)" in root.run(
            "cat /etc/pojemnik/firewall/log").text
    assert eventually(lambda: both_ready(cluster))
    assert eventually(lambda: overlay_works(cluster)), overlay_answers(cluster)
    assert published(cluster, HTTPS_PORT) == {MANAGER: None, WORKER: None}
