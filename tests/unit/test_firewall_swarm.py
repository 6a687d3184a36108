"""The firewall on the Swarm target, pure parts: Swarm's own ports open between the nodes
only, published ports filtered where Swarm's leave (docker_gwbridge), validation, and
what the cluster check probes and requires.
(The real thing, on a two-node Swarm: tests/swarm/test_firewall.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from pojemnik import Firewall, Port, Service, Stack
from pojemnik.declaration.validate.firewall import firewall_problems
from pojemnik.engine.backend import SwarmNode, SwarmSettings
from pojemnik.operations.firewall.server import ServerState, fresh_connection
from pojemnik.operations.firewall.swarm import (
    Member,
    needed_timeout,
    not_ready,
    probe_failures,
    probe_script,
    probes,
)
from pojemnik.planning.firewall import (
    DOCKER_CHAIN,
    INPUT_CHAIN,
    Facts,
    as_json,
    as_text,
    openings,
    render_all,
)
from pojemnik.ssh.connection import through

MANAGER, WORKER, OTHER = "10.215.7.2", "10.215.7.3", "203.0.113.9"
SWARM = Facts((22,), from_server=True, nodes=(MANAGER, WORKER))


def swarm_stack(firewall: Firewall) -> Stack:
    return Stack(project="demo", root=Path("/nowhere"), target="swarm", firewall=firewall,
                 services=[Service("web", image="web", ports=[Port(8080, 8080, "0.0.0.0")])])


def chains(firewall: Firewall, facts: Facts = SWARM, family: str = "v4") -> dict[str, list[str]]:
    [ruleset] = [r for r in render_all(swarm_stack(firewall), firewall, facts)
                 if r.family == family]
    return ruleset.chains


def accepted_from(rules: list[str], source: str) -> list[str]:
    """What the INPUT rules accept from `source` (an address), as `PORT/PROTO` or a
    protocol, besides what they accept from anyone."""
    prefix = f"-A {INPUT_CHAIN} -s {source}/32 "
    found = []
    for rule in rules:
        if rule.startswith(prefix) and rule.endswith(" -j ACCEPT"):
            words = rule[len(prefix):].split()
            found.append(f"{words[words.index('--dport') + 1]}/{words[1]}"
                         if "--dport" in words else words[1])
    return found


def test_swarms_ports_are_accepted_from_the_nodes_and_from_nobody_else() -> None:
    rules = chains(Firewall())[INPUT_CHAIN]
    swarm = ["2377/tcp", "7946/tcp", "7946/udp", "4789/udp", "esp"]
    assert accepted_from(rules, MANAGER) == swarm
    assert accepted_from(rules, WORKER) == swarm
    assert accepted_from(rules, OTHER) == []
    # Not from anyone: no rule names one of Swarm's ports without a source.
    for port in ("2377", "7946", "4789"):
        assert [r for r in rules if f"--dport {port} " in r and " -s " not in r] == []
    assert not any(" esp " in r and " -s " not in r for r in rules)
    # Before the final DROP; the same on every node (a node's own address arrives on lo).
    assert rules.index(f"-A {INPUT_CHAIN} -s {WORKER}/32 -p udp -m udp --dport 4789 "
                       "-j ACCEPT") < rules.index(f"-A {INPUT_CHAIN} -j DROP")


def test_the_data_path_port_is_the_swarms_own() -> None:
    facts = Facts((22,), True, nodes=(WORKER,), data_path_port=4800)
    rules = chains(Firewall(), facts)[INPUT_CHAIN]
    assert accepted_from(rules, WORKER) == ["2377/tcp", "7946/tcp", "7946/udp", "4800/udp",
                                            "esp"]
    assert not any("4789" in r for r in rules)


def test_swarm_nodes_add_peers_and_swarm_false_opens_nothing() -> None:
    joining = Firewall(swarm_nodes=["10.215.8.0/24"])
    rules = chains(joining)[INPUT_CHAIN]
    assert f"-A {INPUT_CHAIN} -s 10.215.8.0/24 -p tcp -m tcp --dport 2377 -j ACCEPT" in rules
    closed = chains(Firewall(swarm=False))[INPUT_CHAIN]
    assert not any(p in r for r in closed for p in ("2377", "7946", "4789", "esp"))


def test_swarm_peers_of_one_family_stay_out_of_the_other() -> None:
    facts = Facts((22,), True, nodes=(MANAGER, "2001:db8::7"))
    v6 = chains(Firewall(), facts, "v6")[INPUT_CHAIN]
    assert "-A POJEMNIK-INPUT -s 2001:db8::7/128 -p udp -m udp --dport 4789 -j ACCEPT" in v6
    assert not any(MANAGER in r for r in v6)


def test_published_ports_are_filtered_on_docker_gwbridge_too() -> None:
    forward = chains(Firewall())[DOCKER_CHAIN]
    assert "-A POJEMNIK-DOCKER -p tcp -m conntrack --ctorigdstport 8080 -j RETURN" in forward
    assert forward[-1] == "-A POJEMNIK-DOCKER -o docker_gwbridge -j DROP"
    assert "-A POJEMNIK-DOCKER -i docker_gwbridge -j RETURN" in forward  # containers' own


def test_an_ssh_allow_list_keeps_the_nodes_pojemnik_reaches_through_the_manager() -> None:
    office = Firewall(allow={"ssh": ["198.51.100.0/24"]})
    [ssh] = [o for o in openings(swarm_stack(office), office, SWARM) if o.port == 22]
    assert ssh.sources == ("198.51.100.0/24", f"{MANAGER}/32", f"{WORKER}/32")
    [anyone] = [o for o in openings(swarm_stack(Firewall()), Firewall(), SWARM) if o.port == 22]
    assert anyone.sources == ()


def test_the_plan_names_the_nodes_and_the_swarm_ports() -> None:
    stack = swarm_stack(Firewall())
    text = as_text(stack, Firewall(), SWARM)
    assert ("Swarm's own ports (2377/tcp, 7946/tcp, 7946/udp, 4789/udp, esp) from the "
            f"nodes only: {MANAGER}/32, {WORKER}/32") in text
    assert f"# Swarm nodes: {MANAGER}, {WORKER}; data path port 4789" in text
    here = as_text(stack, Firewall(), Facts())
    assert "from the nodes only: none (the manager lists them under fab -H)" in here
    document = json.loads(as_json(stack, Firewall(), SWARM))
    assert document["swarm_peers"] == [f"{MANAGER}/32", f"{WORKER}/32"]


def test_swarms_ports_declared_public_are_refused_on_the_swarm_target() -> None:
    firewall = Firewall(public=["7946/udp", "4789/udp", 2377])
    text = "\n".join(str(p) for p in firewall_problems(swarm_stack(firewall), firewall))
    for label in ("2377/tcp", "7946/udp", "4789/udp"):
        assert f"firewall.public: {label} is Swarm's own port" in text
    assert "swarm_nodes=" in text
    # One host: they are ports like any other.
    host = Stack(project="demo", root=Path("/nowhere"), firewall=firewall)
    assert firewall_problems(host, firewall) == []


def test_vxlan_open_to_anyone_is_refused_when_swarm_ports_are_yours() -> None:
    mine = Firewall(swarm=False, public=["4789/udp", "7946"],
                    allow={"7946": ["10.215.7.0/24"]})
    [problem] = firewall_problems(swarm_stack(mine), mine)
    assert "4789/udp (VXLAN) open to anyone" in str(problem)
    fenced = Firewall(swarm=False, public=["4789/udp"], allow={"4789/udp": ["10.215.7.0/24"]})
    assert firewall_problems(swarm_stack(fenced), fenced) == []


# --- the cluster check's pure parts --------------------------------------------------------

def member(name: str, role: str = "worker", state: str = "ready", number: int = 3) -> Member:
    node = SwarmNode(id=name, hostname=name, address=f"10.215.7.{number}", role=role,
                     availability="active", state=state, labels={})
    return Member(name, None, ServerState(Facts()), node)  # type: ignore[arg-type]


def test_every_ready_node_probes_the_others_gossip_port_and_the_managers_cluster_port() -> None:
    members = [member("m1", "manager", number=2), member("w1", number=3),
               member("w2", number=4), member("gone", state="down", number=5)]
    assert probes(members) == {
        "m1": [("10.215.7.3", 7946, "w1"), ("10.215.7.4", 7946, "w2")],
        "w1": [("10.215.7.2", 2377, "m1"), ("10.215.7.2", 7946, "m1"),
               ("10.215.7.4", 7946, "w2")],
        "w2": [("10.215.7.2", 2377, "m1"), ("10.215.7.2", 7946, "m1"),
               ("10.215.7.3", 7946, "w1")],
    }  # a node that is down before the apply is neither probed nor probing


def test_probe_failures_name_both_ends_and_the_port() -> None:
    targets = [("10.215.7.2", 2377, "m1"), ("10.215.7.2", 7946, "m1")]
    script = probe_script(targets)
    assert "for t in 10.215.7.2/2377 10.215.7.2/7946;" in script
    assert "timeout 3 bash -c \"exec 3<>/dev/tcp/$t\"" in script
    output = "ok 10.215.7.2/2377\nfailed 10.215.7.2/7946\n"
    assert probe_failures("w1", targets, output) == [
        "w1 cannot open a new connection to m1 (10.215.7.2) port 7946/tcp"]
    assert len(probe_failures("w1", targets, "")) == 2  # no answer at all: both failed
    assert probe_failures("w1", targets, "no-bash\n") == [
        "w1: cannot test Swarm's ports (no bash there)"]


def test_nodes_that_were_ready_must_stay_ready() -> None:
    listed = [member("m1", "manager").node, member("w1", state="down").node]
    assert not_ready(listed, {"m1", "w1", "w2"}) == [  # type: ignore[arg-type]
        "w1 is down per the manager (`docker node ls`)",
        "w2 is gone per the manager (`docker node ls`)"]
    assert not_ready(listed, {"m1"}) == []  # type: ignore[arg-type]


def test_the_window_fits_three_heartbeats() -> None:
    assert needed_timeout(SwarmSettings()) == 38  # 3 x 5 s + margin + 20 s
    assert needed_timeout(SwarmSettings(heartbeat=20)) == 83


def test_a_fresh_connection_to_a_node_goes_through_a_fresh_connection_to_the_manager() -> None:
    from fabric import Connection

    manager = Connection("203.0.113.1", user="deploy", port=2222)
    worker = through(manager, "10.215.7.3")
    fresh = fresh_connection(worker)
    assert (fresh.host, fresh.port, fresh.user) == ("10.215.7.3", 22, "deploy")
    assert isinstance(fresh.gateway, Connection) and fresh.gateway is not manager
    assert (fresh.gateway.host, fresh.gateway.port) == ("203.0.113.1", 2222)
    assert fresh_connection(manager).gateway is None


def test_swarm_nodes_are_checked_like_sources() -> None:
    firewall = Firewall(swarm=False, swarm_nodes=["10.215.7.1/24", "node2"])
    text = "\n".join(str(p) for p in firewall_problems(swarm_stack(firewall), firewall))
    assert "firewall.swarm_nodes: swarm_nodes, but swarm=False" in text
    assert "'10.215.7.1/24' is not an address or network" in text
    assert "'node2' is not an address or network" in text
    single = Firewall(swarm_nodes="10.215.7.0/24")  # type: ignore[arg-type]
    assert "a single string" in str(firewall_problems(swarm_stack(single), single)[0])
