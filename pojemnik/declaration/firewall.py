"""The firewall as declared in `stack.py`: which ports are public, and to whom.

Plain data, like the rest of the declaration. What it means on a server (the rules) is
worked out in `render.py`, from this, the stack's published ports and a few facts read from
the server (the port sshd really listens on).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

SSH = "ssh"  # in `allow`: the port(s) sshd listens on, whatever they are on that server


@dataclass(frozen=True)
class Firewall:
    """Default-deny inbound for the host and its containers, IPv4 and IPv6.

    Open by default: SSH on the port sshd really listens on (`ssh=True`) and every port the
    stack publishes on a non-loopback address (`stack_ports=True`). `public` adds ports:
    `8080`, `"51820/udp"`. `allow` limits a public port to sources (addresses or networks):
    `{"ssh": ["203.0.113.0/24"], 443: ["198.51.100.7", "2001:db8::/32"]}`; a port without an
    entry is open to anyone. Established traffic, loopback and the ICMP networks need
    (errors, ping, IPv6 neighbour discovery) are always allowed; the rest is dropped.

    On the Swarm target, `firewall.apply` (through a manager) loads the rules on every node,
    and Swarm's own ports (`SWARM_PORTS`, the data path port read from the Swarm, and ESP
    for encrypted overlays) are open between the nodes only: the addresses the manager
    lists, and `swarm_nodes` (addresses or networks: a node about to join). `swarm=False`
    leaves them closed (open them yourself with `public` and `allow`).
    """

    public: Sequence[int | str] = ()
    allow: Mapping[int | str, Sequence[str]] = field(default_factory=dict)
    ssh: bool = True
    stack_ports: bool = True
    ping: bool = True
    ipv6: bool = True
    swarm: bool = True
    swarm_nodes: Sequence[str] = ()


# Swarm's control and gossip ports: the cluster management API (managers), the nodes'
# gossip (TCP and UDP). The overlay data path (VXLAN, 4789/udp unless the Swarm was made
# with another --data-path-port) is unauthenticated: only the nodes may send to it.
SWARM_PORTS = ((2377, "tcp"), (7946, "tcp"), (7946, "udp"))
DATA_PATH_PORT = 4789
PORT = re.compile(r"^(\d{1,5})(?:/(tcp|udp))?$")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def parse_port(value: int | str) -> tuple[int, str] | None:
    """`443`, `"443"`, `"51820/udp"` -> (port, protocol); None if malformed or out of range."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value, "tcp") if 1 <= value <= 65535 else None
    match = PORT.match(value.strip())
    if not match:
        return None
    port = int(match.group(1))
    return (port, match.group(2) or "tcp") if 1 <= port <= 65535 else None


def is_public_address(address: str) -> bool:
    """A published port's address that the outside world can reach (not loopback)."""
    if address in ("", "0.0.0.0", "::"):
        return True
    if address in LOOPBACK:
        return False
    try:
        return not ipaddress.ip_address(address).is_loopback
    except ValueError:
        return True  # validation of the stack reports it; assume reachable
