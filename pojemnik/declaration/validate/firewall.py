"""Check a firewall declaration before anything is rendered or applied.

Pure, like `pojemnik.validate`: every problem at once, each naming the `stack.py` field
and the fix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from ..firewall import (
    DATA_PATH_PORT,
    SSH,
    SWARM_PORTS,
    Firewall,
    is_public_address,
    parse_port,
)
from ..model import Stack
from ..problems import Problem
from ..swarm import SWARM


def firewall_problems(stack: Stack, firewall: Firewall | None) -> list[Problem]:
    where = f"{stack.source}: firewall"
    if firewall is None:
        return [Problem(where, "no firewall is declared",
                        "add firewall=Firewall() to the Stack in stack.py (SSH and the "
                        "stack's public ports open, everything else dropped)")]
    problems: list[Problem] = []
    public: set[tuple[int, str]] = set()
    for index, entry in enumerate(firewall.public):
        parsed = parse_port(entry)
        if parsed is None:
            problems.append(Problem(f"{where}.public[{index}]",
                                    f"{entry!r} is not a port",
                                    "write a number 1-65535, optionally with /tcp or /udp: "
                                    "8080, \"51820/udp\""))
        elif parsed in public:
            problems.append(Problem(f"{where}.public[{index}]",
                                    f"{entry!r} is listed twice", "list each port once"))
        else:
            public.add(parsed)
    stack_ports = {(p.host, p.protocol) for s in stack.services for p in s.ports
                   if is_public_address(p.address)}
    for key, sources in firewall.allow.items():
        field = f"{where}.allow[{key!r}]"
        if key == SSH:
            if not firewall.ssh:
                problems.append(Problem(field, "an allow-list for SSH, but ssh=False",
                                        "set ssh=True, or remove the entry"))
        else:
            parsed = parse_port(key)
            if parsed is None:
                problems.append(Problem(field, f"{key!r} is not a port",
                                        "use \"ssh\", a port number, or \"PORT/udp\""))
            elif parsed not in public and not (firewall.stack_ports and parsed in stack_ports):
                problems.append(Problem(field, f"port {key} is not public, so an allow-list "
                                        "for it opens nothing",
                                        f"add {key!r} to public=[...], or remove the entry"))
        problems += _source_problems(field, sources, "remove the entry to allow anyone")
    return problems + _swarm_problems(stack, firewall, where, public)


def _source_problems(field: str, sources: object, empty_fix: str) -> list[Problem]:
    if isinstance(sources, str):
        return [Problem(field, "a single string, not a list of sources",
                        f"write [{sources!r}]")]
    if not isinstance(sources, Sequence):
        return [Problem(field, f"{sources!r} is not a list of sources",
                        "write a list: [\"203.0.113.0/24\"]")]
    problems: list[Problem] = []
    if not sources:
        problems.append(Problem(field, "an empty allow-list would close the port",
                                f"list addresses or networks, or {empty_fix}"))
    for source in sources:
        try:
            ipaddress.ip_network(str(source), strict=True)
        except ValueError as error:
            problems.append(Problem(field, f"{source!r} is not an address or network "
                                    f"({error})",
                                    "write an address (203.0.113.7, 2001:db8::7) or a "
                                    "network with host bits zero (203.0.113.0/24)"))
    return problems


def _swarm_problems(stack: Stack, firewall: Firewall, where: str,
                    public: set[tuple[int, str]]) -> list[Problem]:
    """Swarm's own ports are opened between the nodes by the firewall itself: listing one
    as public would open it to anyone (VXLAN, unauthenticated, most of all)."""
    problems: list[Problem] = []
    if firewall.swarm_nodes:
        field = f"{where}.swarm_nodes"
        if not firewall.swarm:
            problems.append(Problem(field, "swarm_nodes, but swarm=False",
                                    "set swarm=True, or remove swarm_nodes"))
        problems += _source_problems(field, firewall.swarm_nodes, "remove swarm_nodes")
    if stack.target != SWARM:
        return problems
    vxlan = (DATA_PATH_PORT, "udp")
    allowed = {parse_port(k) for k in firewall.allow if k != SSH}
    for port in sorted(public & {*SWARM_PORTS, vxlan}):
        label = f"{port[0]}/{port[1]}"
        if firewall.swarm:
            problems.append(Problem(f"{where}.public", f"{label} is Swarm's own port: the "
                                    "firewall opens it between the nodes only; listed "
                                    "public it is open to the allow-list or anyone",
                                    "remove it (a node about to join: swarm_nodes="
                                    "[\"ADDRESS\"])"))
        elif port == vxlan and port not in allowed:
            problems.append(Problem(f"{where}.public", f"{label} (VXLAN) open to anyone: "
                                    "anyone could send packets into the overlay networks",
                                    f"add allow={{\"{label}\": [the nodes' addresses]}}"))
    return problems
