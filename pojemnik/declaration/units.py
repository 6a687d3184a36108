"""Small pure conversions shared by validation and planning: sizes and addresses."""

from __future__ import annotations

import ipaddress

from .model import Network


def memory_bytes(memory: str) -> int:
    """'64m' -> 67108864, like docker's --memory. Raises ValueError on anything else."""
    units = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    text = memory.strip().lower()
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def gateway_of(network: Network) -> str:
    """The declared gateway, or Docker's own choice for a bridge: the first host address."""
    if network.gateway:
        return network.gateway
    return str(next(ipaddress.ip_network(network.subnet, strict=False).hosts()))


def address_on(network: Network, host: int | str | None) -> str | None:
    """A service's fixed address: a host number inside the subnet, or a full address."""
    if host is None:
        return None
    if isinstance(host, int):
        subnet = ipaddress.ip_network(network.subnet, strict=False)
        return str(subnet.network_address + host)
    return str(ipaddress.ip_address(host))
