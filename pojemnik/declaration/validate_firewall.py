"""Check a firewall declaration before anything is rendered or applied.

Pure, like `pojemnik.validate`: every problem at once, each naming the `stack.py` field
and the fix.
"""

from __future__ import annotations

import ipaddress

from .firewall import SSH, Firewall, is_public_address, parse_port
from .model import Stack
from .problems import Problem


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
        if isinstance(sources, str):
            problems.append(Problem(field, "a single string, not a list of sources",
                                    f"write [{sources!r}]"))
            continue
        if not sources:
            problems.append(Problem(field, "an empty allow-list would close the port",
                                    "list addresses or networks, or remove the entry to "
                                    "allow anyone"))
        for source in sources:
            try:
                ipaddress.ip_network(source, strict=True)
            except ValueError as error:
                problems.append(Problem(field, f"{source!r} is not an address or network "
                                        f"({error})",
                                        "write an address (203.0.113.7, 2001:db8::7) or a "
                                        "network with host bits zero (203.0.113.0/24)"))
    return problems
