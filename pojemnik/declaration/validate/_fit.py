"""Whether each network's subnet holds the addresses declared on it: the services' fixed
addresses and the start-first standbys.

A subnet the user set in `.env` (or the environment) that cannot hold them is one
mistake, the setting's, not one per address in `stack.py`: a single problem naming the
setting's file and line and every address it breaks, with a range that holds them all.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from ..model import Network, Stack
from ..origins import Origin, origins_of
from ..policy import StartFirst
from ..problems import Problem

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address
Add = Callable[[str, str, str], None]  # field, message, fix
OUTSIDE = "outside the subnet"


@dataclass(frozen=True)
class Placed:
    """An address declared on a network, and the field that declares it."""

    field: str  # services.php.networks.services, services.php.update.standby.services
    host: int | str  # a host number inside the subnet, or a full address


def placed_on(stack: Stack, network: str) -> list[Placed]:
    """Every fixed address on `network`: each service's, then each standby's."""
    placed = [Placed(f"services.{s.name}.networks.{network}", host)
              for s in stack.services for net, host in s.networks.items()
              if net == network and host is not None]
    placed += [Placed(f"services.{s.name}.update.standby.{network}", host)
               for s in stack.services if isinstance(s.update, StartFirst)
               for net, host in s.update.standby.items() if net == network]
    return placed


def address_in(subnet: IPNet, host: int | str) -> IPAddr:
    """The address a host number or full address means in `subnet` (ValueError if none)."""
    return subnet.network_address + host if isinstance(host, int) else ipaddress.ip_address(host)


def misfit(subnet: IPNet, gateway: str | None, ip: IPAddr) -> str | None:
    """Why `ip` cannot be a container's address in `subnet`, or None if it can."""
    if ip not in subnet:
        return OUTSIDE
    if ip == subnet.network_address:
        return "the network address"
    if ip == subnet.broadcast_address:
        return "the broadcast address"
    if gateway is not None and str(ip) == gateway:
        return "the gateway"
    return None


def gateway_in(network: Network, subnet: IPNet) -> str | None:
    """The declared gateway, or Docker's choice (the first host address); None if the
    declared one is not an address (reported with the network)."""
    if network.gateway is None:
        return str(next(subnet.hosts(), subnet.network_address))
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(network.gateway))
    return None


def check_fit(stack: Stack, subnets: dict[str, IPNet], add: Add) -> tuple[list[Problem], set[str]]:
    """Problems of addresses their subnet cannot hold: one per user-set subnet (returned,
    with those networks), else one per address (through `add`)."""
    blamed: list[Problem] = []
    networks: set[str] = set()
    for net in stack.networks:
        subnet = subnets.get(net.name)
        if subnet is None:
            continue
        broken = _broken(net, subnet, placed_on(stack, net.name))
        if not broken:
            continue
        # Set in .env or the environment: the user's change. A default from .env.example
        # is not: then the addresses in the stack file are the ones to fix.
        set_by_user = [o for o in origins_of(stack.origins, net.subnet)
                       if o.where.startswith(".env:") or o.where == "the environment"]
        if set_by_user:
            others = [s for name, s in subnets.items() if name != net.name]
            blamed.append(_blame(stack, net, subnet, broken, set_by_user, others))
            networks.add(net.name)
            continue
        for place, ip, reason in broken:
            if reason == OUTSIDE:
                add(place.field, f"address {ip} is outside the subnet {subnet}",
                    f"pick an address inside {subnet}")
            else:
                add(place.field, f"address {ip} is {reason} of {subnet}",
                    f"pick a host address from {subnet.network_address + 2} up")
    return blamed, networks


def _broken(net: Network, subnet: IPNet,
            placed: list[Placed]) -> list[tuple[Placed, IPAddr, str]]:
    gateway = gateway_in(net, subnet)
    broken = []
    for place in placed:
        try:
            ip = address_in(subnet, place.host)
        except ValueError:
            continue  # not an address at all: reported with the service's networks
        reason = misfit(subnet, gateway, ip)
        if reason is not None:
            broken.append((place, ip, reason))
    return broken


def _blame(stack: Stack, net: Network, subnet: IPNet, broken: list[tuple[Placed, IPAddr, str]],
           origins: list[Origin], others: list[IPNet]) -> Problem:
    names = " or ".join(o.name for o in origins)
    where = " or ".join(dict.fromkeys(o.where for o in origins))
    listed = "".join(f"\n      {ip} ({place.field}): {reason}" for place, ip, reason in broken)
    larger = roomier(net, subnet, placed_on(stack, net.name), others)
    example = f" that holds them, e.g. {larger}" if larger is not None else " that holds them"
    in_file = " or ".join(dict.fromkeys(o.in_file for o in origins))
    return Problem(where, f"{names}={subnet} (network {net.name!r}) cannot hold the "
                   f"addresses {stack.source} declares on it:{listed}",
                   f"set {names} in {in_file} to a range{example}; or change those "
                   f"addresses in {stack.source}")


def roomier(net: Network, subnet: IPNet, placed: list[Placed],
            others: list[IPNet]) -> IPNet | None:
    """The smallest range around `subnet` that holds every address placed on it and
    overlaps no other declared network; None if there is none within 16 bits."""
    for prefix in range(subnet.prefixlen - 1, max(subnet.prefixlen - 16, 0) - 1, -1):
        candidate = ipaddress.ip_network((subnet.network_address, prefix), strict=False)
        if any(candidate.overlaps(other) for other in others if other.version == subnet.version):
            return None  # every larger range holds this one, so overlaps as well
        gateway = gateway_in(net, candidate)
        try:
            if all(misfit(candidate, gateway, address_in(candidate, p.host)) is None
                   for p in placed):
                return candidate
        except ValueError:
            return None
    return None
