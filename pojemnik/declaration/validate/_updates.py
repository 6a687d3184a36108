"""Checks of how a service is replaced and found: StartFirst's standby addresses, a
proxy's Upstreams."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from ..model import Service, Stack
from ..policy import StartFirst
from ..suggest import suggesting
from ..units import address_on

Add = Callable[[str, str, str], None]  # field, message, fix


def check_updates(stack: Stack, service: Service, add: Add) -> None:
    field = f"services.{service.name}"
    if isinstance(service.update, StartFirst):
        # A malformed subnet or address is reported by the network checks.
        with contextlib.suppress(ValueError):
            _standby(stack, service, service.update, f"{field}.update", add)
    if service.upstreams is not None:
        if service.reload is None:
            add(f"{field}.upstreams", "a proxy with upstream files needs a way to reload them",
                "declare reload=Reload(check=[...], command=[...]) on it")
        for name in service.upstreams.ports:
            upstream = next((s for s in stack.services if s.name == name), None)
            if upstream is None:
                add(f"{field}.upstreams", f"unknown service {name!r}",
                    suggesting(name, [s.name for s in stack.services],
                               "name a declared service"))
            elif not set(upstream.networks) & set(service.networks) and \
                    _declared(stack, [*upstream.networks, *service.networks]):
                add(f"{field}.upstreams", f"{name!r} shares no network with {service.name}",
                    "attach both to one network")


def _standby(stack: Stack, service: Service, policy: StartFirst, field: str,
             add: Add) -> None:
    if service.ports:
        add(field, "a start-first service publishes host ports, which two containers "
            "cannot share", "publish the ports on the proxy, or use StopFirst()")
    if set(policy.standby) != set(service.networks):
        stray = next((n for n in policy.standby if n not in service.networks), "")
        add(f"{field}.standby", "standby needs one address per network of the service: "
            + ", ".join(sorted(service.networks)),
            suggesting(stray, service.networks, "give an address for each network"))
        return
    known = {n.name for n in stack.networks}
    taken = {(net, address_on(stack.network(net), host))
             for other in stack.services for net, host in other.networks.items()
             if net in known and host is not None}
    taken |= {(net, address_on(stack.network(net), host))
              for other in stack.services if other is not service
              and isinstance(other.update, StartFirst)
              for net, host in other.update.standby.items() if net in known}
    for net, host in policy.standby.items():
        if net in known and (net, address_on(stack.network(net), host)) in taken:
            add(f"{field}.standby.{net}", f"address {host} is already declared on {net}",
                "give the standby an address no service uses")


def _declared(stack: Stack, networks: list[str]) -> bool:
    """All declared: an unknown one is reported with the service, not again here."""
    return set(networks) <= {n.name for n in stack.networks}
