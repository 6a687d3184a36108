"""Small pure conversions shared by validation and planning: sizes and addresses."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime

from .model import Network, Service


def memory_bytes(memory: str) -> int:
    """'64m' -> 67108864, like docker's --memory. Raises ValueError on anything else."""
    units = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    text = memory.strip().lower()
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def since_timestamp(text: str, now: float) -> float:
    """`docker logs --since`'s forms as seconds since the epoch: a duration before `now`
    (10m, 1h30m, 45s), a Unix timestamp, or an RFC 3339 date (2026-11-27T10:00:00Z;
    without a zone: local time). Raises ValueError on anything else."""
    text = text.strip()
    if text and DURATION.sub("", text) == "":
        return now - sum(float(n) * SECONDS[unit] for n, unit in DURATION.findall(text))
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ValueError(f"{text!r} is neither a duration (10m, 1h30m), a Unix timestamp "
                         "nor an RFC 3339 date (2026-11-27T10:00:00Z)") from None


def gateway_of(network: Network) -> str:
    """The declared gateway, or Docker's own choice for a bridge: the first host address."""
    if network.gateway:
        return network.gateway
    return str(next(ipaddress.ip_network(network.subnet, strict=False).hosts()))


def fixed_address(network: Network, service: Service) -> str:
    """The service's fixed address on the network, for a declaration to pass on (e.g. to
    the only client a service answers); "" while the declaration is invalid, which
    validation then reports."""
    try:
        return address_on(network, service.networks.get(network.name)) or ""
    except ValueError:
        return ""


def address_on(network: Network, host: int | str | None) -> str | None:
    """A service's fixed address: a host number inside the subnet, or a full address."""
    if host is None:
        return None
    if isinstance(host, int):
        subnet = ipaddress.ip_network(network.subnet, strict=False)
        return str(subnet.network_address + host)
    return str(ipaddress.ip_address(host))
