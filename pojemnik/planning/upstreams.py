"""Where a proxy finds its upstreams, and which of its two addresses a replacement takes.

A proxy that declares `Upstreams` reads one file per upstream service that pojemnik
writes: `upstream app { server 10.0.20.5:8080; }`, with the address the service's
container has on the network it shares with the proxy. A start-first service has two
declared addresses per network (its own and `standby`): the replacement takes the one
the running container does not use, so both run side by side until the proxy is
switched; either address is "as declared". Pure functions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from ..declaration.model import LABEL_SPEC_HASH, Reload, Stack
from ..declaration.units import address_on
from .spec import ContainerSpec
from .state import ObservedContainer


@dataclass(frozen=True)
class Upstream:
    service: str
    container: str  # the service's container (engine name)
    network: str  # the engine network it shares with the proxy
    port: int
    primary: str | None  # its declared address there (before it runs)

    @property
    def file(self) -> str:
        return f"{self.service}.conf"


@dataclass(frozen=True)
class ProxyUpstreams:
    proxy: str  # the proxy's container
    directory: str  # on the engine's host; mounted read-only into the proxy
    reload: Reload | None  # how the proxy takes the rewritten files
    upstreams: list[Upstream]


def proxy_upstreams(stack: Stack) -> list[ProxyUpstreams]:
    result = []
    for proxy in stack.services:
        if proxy.upstreams is None:
            continue
        found = []
        for name, port in sorted(proxy.upstreams.ports.items()):
            service = stack.service(name)
            shared = next(n for n in service.networks if n in proxy.networks)
            found.append(Upstream(name, stack.container_name(name), stack.network_name(shared),
                                  port, address_on(stack.network(shared),
                                                   service.networks[shared])))
        result.append(ProxyUpstreams(stack.container_name(proxy.name),
                                     stack.host_path(stack.upstreams_dir()), proxy.reload,
                                     found))
    return result


RESOLVER_FILE = "_resolver.conf"  # a Swarm's; never a service's file (names start [a-z0-9])


def variable(service: str) -> str:
    """The nginx variable sites name to reach a service on either target:
    `proxy_pass http://$pojemnik_app;`, `fastcgi_pass $pojemnik_php;`."""
    return "$pojemnik_" + re.sub(r"[^A-Za-z0-9_]", "_", service)


def render_upstream(service: str, address: str, port: int) -> str:
    return (f"# written by pojemnik: {service}'s current container; do not edit\n"
            f"upstream {service} {{\n    server {address}:{port};\n}}\n"
            f"map $host {variable(service)} {{ default {service}; }}\n")


def render_swarm_upstream(service: str, port: int) -> str:
    """On a Swarm the variable names the service itself: nginx asks Docker's DNS for its
    tasks per request (cached 1 s, `_resolver.conf`), so a task that stopped, moved or
    was added is seen without a reload."""
    return (f"# written by pojemnik (Swarm): {service}'s tasks, from Docker's DNS; "
            "do not edit\n"
            f"map $host {variable(service)} {{ default {service}:{port}; }}\n")


def render_resolver() -> str:
    return ("# written by pojemnik (Swarm): Docker's DNS, asked again after 1 s, so tasks "
            "that stop\n# leave the answers (Swarm removes them 2 s before stopping them)\n"
            "resolver 127.0.0.11 valid=1s ipv6=off;\n")


def upstream_files(proxy: ProxyUpstreams,
                   addresses: dict[str, dict[str, str] | None]) -> dict[str, str]:
    """File name -> content, from each upstream container's addresses (by container
    name; None or missing: not running, so its declared address, where it will start)."""
    files = {}
    for upstream in proxy.upstreams:
        current = (addresses.get(upstream.container) or {}).get(upstream.network)
        address = current or upstream.primary
        if address:
            files[upstream.file] = render_upstream(upstream.service, address, upstream.port)
    return files


def in_slot(spec: ContainerSpec, standby: bool) -> ContainerSpec:
    """The spec on its standby addresses (or its own), with the matching drift label.
    The addresses it leaves become its `standby`: a spec kept for a rollback still
    knows both of its slots."""
    if not standby or not spec.standby:
        return spec
    moved = replace(spec, networks=list(spec.standby), standby=list(spec.networks))
    labels = {**spec.labels, LABEL_SPEC_HASH: json.dumps(moved.fingerprint(), sort_keys=True)}
    return replace(moved, labels=labels)


def on_primary(spec: ContainerSpec, current: ObservedContainer) -> bool:
    """Whether the running container holds any of the service's own (not standby)
    addresses: then its replacement takes the standby ones. Any, not all: a container
    left on fewer networks (an interrupted deploy) still holds the ones it has."""
    return any(current.addresses.get(a.network) == a.ip for a in spec.networks if a.ip)


def replacement_slot(spec: ContainerSpec, current: ObservedContainer | None) -> ContainerSpec:
    """A start-first replacement takes the addresses the running container does not use."""
    if current is None or not spec.standby:
        return spec
    return in_slot(spec, standby=on_primary(spec, current))


def next_name(name: str) -> str:
    """The replacement's name while it runs beside the old container."""
    return f"{name}-next"
