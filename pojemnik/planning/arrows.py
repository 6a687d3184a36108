"""What the topology picture draws besides boxes: where traffic goes and what waits for
what. Pure, from the declaration alone.

- Traffic: a proxy's `Upstreams` name the services it sends requests to, and on which
  port (published ports to the proxy are drawn with the ports themselves).
- Dependencies: `depends_on`, each as "needs it started" (`Started`) or "needs it ready".
- Standby addresses: a start-first service's second address on each network.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..declaration.model import Network, Service, Stack, Started
from ..declaration.policy import StartFirst
from ..declaration.units import address_on

TRAFFIC, NEEDS = "traffic", "needs"


@dataclass(frozen=True)
class Flow:
    source: str  # service name
    target: str  # service name
    label: str
    kind: str  # TRAFFIC or NEEDS


def traffic(stack: Stack) -> list[Flow]:
    """Proxy -> each upstream service, labelled with the port it is reached on."""
    declared = {s.name for s in stack.services}
    return [Flow(proxy.name, name, f"requests to :{port}", TRAFFIC)
            for proxy in stack.services if proxy.upstreams is not None
            for name, port in proxy.upstreams.ports.items() if name in declared]


def dependencies(stack: Stack) -> list[Flow]:
    """Service -> each service it depends on, and whether it waits for it to be ready."""
    return [Flow(service.name, str(needed),
                 "needs it started" if isinstance(needed, Started) else "needs it ready",
                 NEEDS)
            for service in stack.services for needed in service.depends_on]


def standby(network: Network, service: Service) -> str | None:
    """A start-first service's standby address on `network` (None: it has none there)."""
    if not isinstance(service.update, StartFirst) or network.name not in service.networks:
        return None
    host = service.update.standby.get(network.name)
    return address_on(network, host) if host is not None else None
