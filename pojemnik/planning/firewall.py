"""From the declaration to rules: pure functions, no server needed.

`openings` resolves what is public (SSH's real port, the stack's published ports, the
declared extras, each with its allow-list); `render` turns that into one ruleset per
address family, in the exact form `iptables -S` / `iptables-save` print, so a ruleset is
both what `iptables-restore --noflush` loads and what the live rules are compared with.

Only pojemnik's own chains are written: POJEMNIK-INPUT (hooked first into INPUT) for the
host and POJEMNIK-DOCKER (hooked first into DOCKER-USER, Docker's chain for its users) for
the containers. Docker's chains are never flushed or rewritten.

On a Swarm, every node gets the same rules (but for sshd's port, read on each): Swarm's
own ports accepted from the nodes' addresses only (given in `Facts.nodes`), and the
published ports filtered where Swarm's leave, `docker_gwbridge`, too.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

# The agent compares the rules on the server the same way.
from ..agent.alerts.rules import DOCKER_CHAIN as DOCKER_CHAIN
from ..agent.alerts.rules import INPUT_CHAIN as INPUT_CHAIN
from ..agent.alerts.rules import drift as chains_drift
from ..agent.alerts.rules import hook_chain as hook_chain
from ..agent.alerts.rules import parse_save as parse_save
from ..declaration.firewall import (
    DATA_PATH_PORT,
    SSH,
    SWARM_PORTS,
    Firewall,
    is_public_address,
    parse_port,
)
from ..declaration.model import Stack
from ..declaration.swarm import SWARM

CHAINS = (INPUT_CHAIN, DOCKER_CHAIN)
FAMILIES = ("v4", "v6")
PROTOCOLS = ("tcp", "udp")
# Where traffic to Docker's containers leaves: the default bridge, user-defined bridges
# (br-<id>), and Swarm's docker_gwbridge (ports published in host mode, and the routing
# mesh's ingress sandbox: both DNATed to an address on it).
BRIDGES = ("docker0", "br-+", "docker_gwbridge")


@dataclass(frozen=True)
class Facts:
    """What rendering needs to know about the server. Without a server (`invoke
    firewall.plan`), SSH's port is assumed to be 22, and the plan says so. On a Swarm:
    its nodes' addresses and its data path (VXLAN) port, as the manager reports them."""

    ssh_ports: tuple[int, ...] = (22,)
    from_server: bool = False
    nodes: tuple[str, ...] = ()
    data_path_port: int = DATA_PATH_PORT


@dataclass(frozen=True)
class Opening:
    """One public port: `sources` empty means anyone; `why` says where it comes from."""

    port: int
    protocol: str
    sources: tuple[str, ...] = ()
    why: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.port}/{self.protocol}"


@dataclass(frozen=True)
class Ruleset:
    """The rules of pojemnik's chains for one address family, as `iptables -S` prints them."""

    family: str
    chains: dict[str, list[str]] = field(default_factory=dict)

    @property
    def command(self) -> str:
        return "iptables" if self.family == "v4" else "ip6tables"

    def restore_text(self, header: Sequence[str] = ()) -> str:
        """Input for `iptables-restore --noflush`: declaring our chains flushes just them,
        then their rules are loaded, all in one transaction; no other chain is touched."""
        lines = [f"# {line}" for line in header]
        lines.append("*filter")
        lines += [f":{chain} - [0:0]" for chain in self.chains]
        for rules in self.chains.values():
            lines += rules
        lines.append("COMMIT")
        return "\n".join(lines) + "\n"


def normal_source(source: str) -> str:
    """An address or network in the form iptables prints it: always with a prefix length."""
    return str(ipaddress.ip_network(source.strip(), strict=False))


def family_of(source: str) -> str:
    return "v4" if ipaddress.ip_network(source, strict=False).version == 4 else "v6"


def openings(stack: Stack, firewall: Firewall, facts: Facts) -> list[Opening]:
    """Every public port with its allow-list, sorted, duplicates merged. Assumes a valid
    declaration (see `validate.firewall_problems`); malformed entries are skipped."""
    found: dict[tuple[int, str], list[str]] = {}
    if firewall.ssh:
        for port in facts.ssh_ports:
            found.setdefault((port, "tcp"), []).append(SSH)
    if firewall.stack_ports:
        for service in stack.services:
            for published in service.ports:
                if is_public_address(published.address):
                    found.setdefault((published.host, published.protocol), []).append(
                        f"service {service.name}")
    for entry in firewall.public:
        parsed = parse_port(entry)
        if parsed:
            found.setdefault(parsed, []).append("public")
    allowed: dict[tuple[int, str], list[str]] = {}
    for key, sources in firewall.allow.items():
        keys = ([(p, "tcp") for p in facts.ssh_ports] if key == SSH
                else [parsed] if (parsed := parse_port(key)) else [])
        for resolved in keys:
            allowed.setdefault(resolved, []).extend(normal_source(s) for s in sources)
    # pojemnik reaches a Swarm's other nodes through the manager: an SSH allow-list keeps
    # the nodes in (without one, SSH is open to anyone anyway).
    for port in facts.ssh_ports if facts.nodes else ():
        if allowed.get((port, "tcp")):
            allowed[(port, "tcp")] += [normal_source(n) for n in facts.nodes]
    result = []
    for (port, protocol), why in sorted(found.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        sources = tuple(dict.fromkeys(allowed.get((port, protocol), [])))
        result.append(Opening(port, protocol, sources, tuple(dict.fromkeys(why))))
    return result


def _sources(opening: Opening, family: str) -> list[str | None]:
    """The `-s` values for one family: [None] for anyone, [] when the allow-list has no
    address of this family (then the port is closed on it)."""
    if not opening.sources:
        return [None]
    # 0.0.0.0/0 and ::/0: anyone of that family (iptables prints no -s for them).
    return [None if s.endswith("/0") else s for s in opening.sources if family_of(s) == family]


def swarm_peers(firewall: Firewall, facts: Facts) -> tuple[str, ...]:
    """Who may use Swarm's own ports: the nodes the manager lists and `swarm_nodes`
    (none on one host, or with swarm=False)."""
    if not firewall.swarm:
        return ()
    return tuple(dict.fromkeys(normal_source(s) for s in (*facts.nodes, *firewall.swarm_nodes)))


def swarm_ports(data_path_port: int = DATA_PATH_PORT) -> list[str]:
    """Swarm's own ports and protocols, as the plan lists them."""
    return [f"{p}/{proto}" for p, proto in (*SWARM_PORTS, (data_path_port, "udp"))] + ["esp"]


def _swarm_rules(peers: Sequence[str], family: str, data_path_port: int) -> list[str]:
    """Swarm's ports from the peers of this family only; ESP carries encrypted overlays.
    The same on every node (a node's own address reaches it over `lo` anyway)."""
    ports = (*SWARM_PORTS, (data_path_port, "udp"))
    rules = []
    for peer in (p for p in peers if family_of(p) == family):
        rules += [f"-s {peer} -p {proto} -m {proto} --dport {port}" for port, proto in ports]
        rules.append(f"-s {peer} -p esp")
    return rules


def render(openings_: Iterable[Opening], family: str, ping: bool = True,
           peers: Sequence[str] = (), data_path_port: int = DATA_PATH_PORT) -> Ruleset:
    """The rules of POJEMNIK-INPUT and POJEMNIK-DOCKER for `family` ("v4" or "v6");
    `peers`: a Swarm's nodes (see `swarm_peers`)."""
    items = list(openings_)
    host = f"-A {INPUT_CHAIN}"
    rules = [f"{host} -i lo -j ACCEPT",
             f"{host} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]
    rules += [f"{host} {rule} -j ACCEPT" for rule in _icmp(family, ping)]
    rules.append(f"{host} -m conntrack --ctstate INVALID -j DROP")
    rules += [f"{host} {rule} -j ACCEPT" for rule in _swarm_rules(peers, family, data_path_port)]
    for opening in items:
        for source in _sources(opening, family):
            match = f"-s {source} " if source else ""
            rules.append(f"{host} {match}-p {opening.protocol} -m {opening.protocol} "
                         f"--dport {opening.port} -j ACCEPT")
    rules.append(f"{host} -j DROP")

    # Containers: traffic from outside was DNATed before FORWARD, so the port it was sent
    # to is the conntrack original destination port. RETURN lets Docker's rules decide.
    docker = f"-A {DOCKER_CHAIN}"
    forward = [f"{docker} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"]
    forward += [f"{docker} -i {bridge} -j RETURN" for bridge in BRIDGES]
    for opening in items:
        for source in _sources(opening, family):
            match = f"-s {source} " if source else ""
            forward.append(f"{docker} {match}-p {opening.protocol} -m conntrack "
                           f"--ctorigdstport {opening.port} -j RETURN")
    forward += [f"{docker} -o {bridge} -j DROP" for bridge in BRIDGES]
    return Ruleset(family, {INPUT_CHAIN: rules, DOCKER_CHAIN: forward})


def _icmp(family: str, ping: bool) -> list[str]:
    """The ICMP networks need: errors (path MTU discovery), ping, and for IPv6 neighbour
    and router discovery (hop limit 255: only from the link) and multicast listeners."""
    if family == "v4":
        types = [3, 11, 12] + ([8] if ping else [])
        return [f"-p icmp -m icmp --icmp-type {t}" for t in types]
    types = [1, 2, 3, 4] + ([128] if ping else [])
    rules = [f"-p ipv6-icmp -m icmp6 --icmpv6-type {t}" for t in types]
    rules += [f"-p ipv6-icmp -m icmp6 --icmpv6-type {t} -m hl --hl-eq 255"
              for t in (133, 134, 135, 136)]
    rules += [f"-s fe80::/10 -p ipv6-icmp -m icmp6 --icmpv6-type {t}" for t in (130, 131, 132, 143)]
    rules.append("-s fe80::/10 -p udp -m udp --sport 547 --dport 546")  # DHCPv6 replies
    return rules


def render_all(stack: Stack, firewall: Firewall, facts: Facts) -> list[Ruleset]:
    items = openings(stack, firewall, facts)
    families = FAMILIES if firewall.ipv6 else ("v4",)
    peers = swarm_peers(firewall, facts)
    return [render(items, family, firewall.ping, peers, facts.data_path_port)
            for family in families]


def header(stack: Stack, facts: Facts, family: str) -> list[str]:
    ssh = ", ".join(str(p) for p in facts.ssh_ports)
    where = "read from the server" if facts.from_server else "assumed: not asked a server"
    lines = [f"pojemnik firewall ({'IPv4' if family == 'v4' else 'IPv6'}) for project "
             f"{stack.project}, from {stack.source}",
             f"sshd port(s): {ssh} ({where})"]
    if stack.target == SWARM:
        nodes = ", ".join(facts.nodes) if facts.nodes else "not asked a manager"
        lines.append(f"Swarm nodes: {nodes}; data path port {facts.data_path_port}")
    return [*lines, "load: iptables-restore --noflush (only pojemnik's chains are replaced)"]


def as_text(stack: Stack, firewall: Firewall, facts: Facts) -> str:
    """What `firewall.plan` prints: the public ports, then each ruleset exactly as loaded."""
    lines = ["public ports:"]
    for opening in openings(stack, firewall, facts):
        who = ", ".join(opening.sources) if opening.sources else "anyone"
        lines.append(f"  {opening.label:<10} from {who}  ({'; '.join(opening.why)})")
    if stack.target == SWARM:
        peers = swarm_peers(firewall, facts)
        lines.append(f"  Swarm's own ports ({', '.join(swarm_ports(facts.data_path_port))}) "
                     f"from the nodes only: {', '.join(peers) or 'none'}"
                     + ("" if facts.nodes else " (the manager lists them under fab -H)"))
    lines.append("everything else inbound: dropped (host and containers, also Swarm's "
                 "published ports)")
    lines.append("")
    for ruleset in render_all(stack, firewall, facts):
        name = f"rules.{ruleset.family}"
        lines.append(f"# --- {name} ---")
        lines.append(ruleset.restore_text(header(stack, facts, ruleset.family)))
    return "\n".join(lines).rstrip() + "\n"


def as_json(stack: Stack, firewall: Firewall, facts: Facts) -> str:
    rulesets = render_all(stack, firewall, facts)
    return json.dumps({
        "project": stack.project,
        "ssh_ports": list(facts.ssh_ports),
        "ssh_ports_from_server": facts.from_server,
        "public": [asdict(o) for o in openings(stack, firewall, facts)],
        "swarm_peers": list(swarm_peers(firewall, facts)),
        "data_path_port": facts.data_path_port,
        "rules": {r.family: r.chains for r in rulesets},
        "restore": {r.family: r.restore_text(header(stack, facts, r.family)) for r in rulesets},
    }, indent=2)


# --- the live rules ---------------------------------------------------------------------


def drift(ruleset: Ruleset, live: dict[str, list[str]]) -> list[str]:
    """How the live rules differ from the ruleset (empty: they match), one line each."""
    return chains_drift(ruleset.chains, live, ruleset.family)


def restore_of_live(live: dict[str, list[str]], family: str) -> Ruleset:
    """The current content of our chains, as a ruleset (empty chains if never loaded):
    what the dead-man restore and `rollback` put back."""
    return Ruleset(family, {chain: list(live.get(chain, [])) for chain in CHAINS})
