"""The firewall on every node of a Swarm, in one command, and the check that the cluster
survived the rules.

`fab -H root@manager firewall.*` on the Swarm target: the manager's engine lists the nodes
(and the cluster's heartbeat period and data path port); every other node is reached
THROUGH the manager, as `images.push --swarm` does (same user and key, its host key
checked under the address the manager reports). Every node is reached and read before
anything changes: one that cannot be reached stops the apply on all of them.

The cluster check runs inside the dead-man window, after the new SSH connections
worked: from every node a NEW TCP connection to every other node's gossip port
(7946/tcp) and to every manager's cluster port (2377/tcp) - through the new rules, both
ends - then the manager must still list every node that was Ready as Ready once a node
that lost the managers would have been marked down (three heartbeat periods).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ...console import Say
from ...engine.backend import Engine, SwarmNode, SwarmSettings
from ...errors import OperationError, PojemnikError
from ...ssh.connection import describe, through
from ._deadman import MARGIN, Check
from .server import ServerState, gather

if TYPE_CHECKING:
    from fabric import Connection

PROBE_SECONDS = 3  # a dropped SYN is not answered: how long a probe waits
GOSSIP, CLUSTER = 7946, 2377


@dataclass
class Member:
    """One host the firewall is applied on: how messages name it, its connection, what it
    reported (its facts carry the Swarm's nodes), and its node (None on one host)."""

    name: str
    connection: Connection
    state: ServerState
    node: SwarmNode | None = None


@dataclass
class Fleet:
    members: list[Member]
    manager: Engine | None = None  # a Swarm's manager engine; None on one host
    settings: SwarmSettings = field(default_factory=SwarmSettings)

    def check(self) -> Check | None:
        return None if self.manager is None else cluster_check(self)


def needed_timeout(settings: SwarmSettings) -> int:
    """The shortest dead-man window the cluster check fits in: three heartbeat periods
    to see a node marked down, the probes, and time to spare."""
    return math.ceil(3 * settings.heartbeat + MARGIN) + 20


@contextmanager
def fleet_of(c: Connection, swarm: bool, say: Say) -> Iterator[Fleet]:
    """The task's host alone, or every node of the Swarm it manages (connections to the
    other nodes, and the manager's engine, closed at the end)."""
    if not swarm:
        yield Fleet([Member(describe(c), c, gather(c))])
        return
    from ...engine.over_ssh import connect_over_ssh

    manager = connect_over_ssh(c, say)
    opened: list[Connection] = []
    try:
        nodes = sorted(manager.nodes(), key=lambda n: not n.current)  # the manager first
        settings = manager.swarm_settings()
        addresses = tuple(n.address for n in nodes)
        members = []
        for node in nodes:
            connection = c if node.current else through(c, node.address)
            if connection is not c:
                opened.append(connection)
            state = _gather_node(connection, node, manager.where)
            state.facts = replace(state.facts, nodes=addresses,
                                  data_path_port=settings.data_path_port)
            members.append(Member(node.hostname, connection, state, node))
        say("Swarm nodes: " + ", ".join(f"{n.hostname} ({n.role}, {n.address}, {n.state})"
                                        for n in nodes))
        for node in nodes:
            if node.state != "ready":
                say(f"WARNING: Swarm node {node.hostname} is {node.state or 'unknown'}: its "
                    "rules are applied, but it is not required to be Ready afterwards")
        yield Fleet(members, manager, settings)
    finally:
        for connection in opened:
            connection.close()
        manager.close()


def _gather_node(connection: Connection, node: SwarmNode, manager: str) -> ServerState:
    try:
        return gather(connection)
    except PojemnikError as error:
        raise OperationError(
            f"cannot reach Swarm node {node.hostname} ({node.role}, {node.address}) through "
            f"the manager {manager}: {error}. The firewall goes on every node or on none: "
            f"nothing was changed. Check that sshd runs on {node.address}:22, that your key "
            "logs in there as on the manager (with root or passwordless sudo), and that the "
            f"node's host key is in known_hosts under {node.address}.") from error


def probes(members: list[Member]) -> dict[str, list[tuple[str, int, str]]]:
    """Pure: from each Ready node, (address, port, name) of what it must reach: every
    other Ready node's gossip port, and every other Ready manager's cluster port."""
    ready = [m for m in members if m.node is not None and m.node.state == "ready"]
    plan: dict[str, list[tuple[str, int, str]]] = {}
    for member in ready:
        plan[member.name] = []
        for other in ready:
            assert other.node is not None
            if other is member:
                continue
            if other.node.role == "manager":
                plan[member.name].append((other.node.address, CLUSTER, other.name))
            plan[member.name].append((other.node.address, GOSSIP, other.name))
    return plan


def probe_script(targets: list[tuple[str, int, str]]) -> str:
    """A new TCP connection to each target, `ok` or `failed` per target (bash's
    /dev/tcp, bounded by `timeout`)."""
    words = " ".join(f"{address}/{port}" for address, port, _ in targets)
    return ("command -v bash >/dev/null || { echo no-bash; exit 0; }; "
            f"for t in {words}; do if timeout {PROBE_SECONDS} bash -c \"exec 3<>/dev/tcp/$t\" "
            "2>/dev/null; then echo \"ok $t\"; else echo \"failed $t\"; fi; done")


def probe_failures(source: str, targets: list[tuple[str, int, str]], output: str) -> list[str]:
    """Pure: the probe script's output -> what failed, one line each."""
    if "no-bash" in output.split():
        return [f"{source}: cannot test Swarm's ports (no bash there)"]
    answered = {line.split()[1]: line.split()[0] for line in output.splitlines()
                if len(line.split()) == 2}
    return [f"{source} cannot open a new connection to {name} ({address}) port {port}/tcp"
            for address, port, name in targets
            if answered.get(f"{address}/{port}") != "ok"]


def not_ready(nodes: list[SwarmNode], required: set[str]) -> list[str]:
    """Pure: the required nodes the manager does not list as Ready, one line each."""
    listed = {n.hostname: n.state for n in nodes}
    return [f"{name} is {listed.get(name) or 'gone'} per the manager (`docker node ls`)"
            for name in sorted(required) if listed.get(name) != "ready"]


def cluster_check(fleet: Fleet) -> Check:
    """After the new rules are loaded: the probes, then every node that was Ready still
    Ready once three heartbeat periods have passed. None, or what failed."""
    assert fleet.manager is not None
    manager = fleet.manager
    required = {m.name for m in fleet.members if m.node and m.node.state == "ready"}

    def check(deadline: float) -> str | None:
        settle = time.monotonic() + 3 * fleet.settings.heartbeat
        failures: list[str] = []
        by_name = {m.name: m for m in fleet.members}
        for source, targets in probes(fleet.members).items():
            connection = by_name[source].connection
            result = connection.run(probe_script(targets), hide=True, warn=True,
                                    in_stream=False)
            failures += probe_failures(source, targets, str(result.stdout))
        if failures:
            return "; ".join(failures)
        if settle > deadline:
            return (f"the Swarm's heartbeat period ({fleet.settings.heartbeat:g} s) leaves "
                    "no time to see the nodes stay Ready: give a longer --timeout")
        while True:
            try:
                down = not_ready(manager.nodes(), required)
            except PojemnikError as error:
                return f"the manager's engine did not answer: {error}"
            if down:
                return "; ".join(down)
            if time.monotonic() >= settle:
                return None
            time.sleep(min(2.0, max(0.1, settle - time.monotonic())))
    return check
