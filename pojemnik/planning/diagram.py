"""A picture of the declared topology: `Stack` -> Graphviz DOT text -> SVG/PNG.

Drawn from the declaration alone (no engine): the host as a box, the published ports
on its edge, each network as a box of its own with its subnet, services with their
addresses (and standby addresses), and the host-side things they mount (directories,
volumes, secrets). Arrows (planning/arrows.py): traffic, solid, from a client per
port through the proxy to its upstreams; dependencies, dashed, outside the layout.

A service on one network sits inside that network's box, its address in its label; a
service on several sits between the boxes, joined to its address inside each.
Pure; `operations.diagram` runs Graphviz's `dot` on the text.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

from ..declaration.model import (
    Bind,
    Mount,
    Network,
    Port,
    SecretMount,
    Service,
    Stack,
    Tmpfs,
    VolumeMount,
)
from ..declaration.units import address_on
from .arrows import dependencies, standby, traffic
from .spec import network_spec

FONT = "Helvetica"
TRAFFIC_COLOR = "#1f6fb2"  # requests: clients -> ports -> proxy -> upstreams
NEEDS_COLOR = "#8e44ad"  # depends_on
COLORS = {
    "host": "#f4f4f4",
    "network": "#e3eefa",
    "internal": "#fbeee0",
    "service": "#ffffff",
    "port": "#fff3b0",
    "bind": "#eef6e8",
    "volume": "#d9f0d3",
    "secret": "#f8e1ea",
}


def _id(*parts: str) -> str:
    """A quoted DOT identifier."""
    text = ":".join(parts)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Html(str):
    """An HTML-like Graphviz label, written as <...> rather than quoted."""


def _html(*lines: str, align: str = "center", bold: bool = True) -> _Html:
    """An HTML-like label: the first line bold (unless not), the others smaller."""
    first = html.escape(lines[0])
    rows = [f"<b>{first}</b>" if bold else first,
            *(f'<font point-size="9">{html.escape(line)}</font>' for line in lines[1:])]
    cells = "".join(f'<tr><td align="{align}">{row}</td></tr>' for row in rows)
    return _Html(f'<<table border="0" cellpadding="0" cellspacing="1">{cells}</table>>')


def _attrs(**values: str) -> str:
    """`[key="value", ...]`; an HTML label is written as it is."""
    items = []
    for key, value in values.items():
        if isinstance(value, _Html):
            items.append(f"{key}={value}")
        else:
            items.append(f"{key}={_id(value)}")
    return "[" + ", ".join(items) + "]"


def _network_label(network: Network, stack: Stack) -> _Html:
    spec = network_spec(stack, network)
    note = "internal: no route out" if network.internal else f"gateway {spec.gateway}"
    return _html(f"network {network.name}", f"{spec.subnet}  ({note})", align="left")


def _service_lines(stack: Stack, service: Service) -> list[str]:
    image = (f"image images/{service.image}" if stack.image(service.image)
             else f"image {service.image}")
    lines = [service.name, image]
    tmpfs = [m.target for m in service.mounts if isinstance(m, Tmpfs)]
    if tmpfs:
        lines.append("tmpfs " + ", ".join(tmpfs))
    return lines


def _front_first(stack: Stack) -> list[Network]:
    """Networks by how many hops they are from a service that publishes ports."""
    distance: dict[str, int] = {}
    frontier = {n for s in stack.services if s.ports for n in s.networks}
    hops = 0
    while frontier:
        for name in frontier:
            distance[name] = hops
        hops += 1
        frontier = {n for s in stack.services if set(s.networks) & set(distance)
                    for n in s.networks} - set(distance)
    return sorted(stack.networks, key=lambda n: distance.get(n.name, hops))


def to_dot(stack: Stack) -> str:
    """The topology of `stack` as Graphviz DOT text. Call on a validated stack."""
    return "\n".join(_lines(stack)) + "\n"


def _lines(stack: Stack) -> Iterator[str]:
    yield "digraph topology {"
    yield (f'  graph [rankdir=LR, fontname="{FONT}", fontsize=12, '
           'nodesep=0.25, ranksep=0.7, pad=0.3, newrank=true];')
    yield f'  node [fontname="{FONT}", fontsize=11, style=filled, penwidth=1.2];'
    yield f'  edge [fontname="{FONT}", fontsize=9, color="#555555", arrowsize=0.7];'
    yield ""
    published = [(s, p) for s in stack.services for p in s.ports]
    # A client per port: each arrow runs straight to its own port, none crossing another
    # (one node for all fanned out across the host's title).
    for service, port in published:
        yield "  " + _client(service, port) + " " + _attrs(
            label="clients", shape="plaintext", style="", fontsize="11") + ";"
    yield "  subgraph cluster_host {"
    # The title below: the client arrows come in from the left, never across it.
    yield "    graph " + _attrs(label=_html(f"this host: project {stack.project}", align="left"),
                                style="rounded,filled", fillcolor=COLORS["host"],
                                color="#888888", labeljust="l", labelloc="b") + ";"
    yield ""
    # Published ports, stacked on the left: the host's edge.
    if published:
        yield "    subgraph cluster_ports {"
        yield "      graph " + _attrs(label="", style="invis") + ";"
    for service, port in published:
        yield "      " + _port(service, port) + " " + _attrs(
            label=f"{port.address}:{port.host} → {port.container}/{port.protocol}",
            shape="cds", fillcolor=COLORS["port"]) + ";"
    if published:
        yield "    }"
    single = [s for s in stack.services if len(s.networks) == 1]
    for network in _front_first(stack):
        yield from _network(stack, network, single)
    yield from _between_networks(stack, single)
    yield ""
    # What services mount, by its host-side name: one node per directory, volume or
    # secret, with an edge per service that mounts it, labeled with the container path.
    for kind, name, label, shape in _mount_sources(stack):
        yield "    " + _id(kind, name) + " " + _attrs(
            label=label, shape=shape, fillcolor=COLORS[kind], fontsize="10") + ";"
    yield "  }"
    yield ""
    yield from _edges(stack, published)
    yield "}"


def _network(stack: Stack, network: Network, single: list[Service]) -> Iterator[str]:
    """A network's box, with its single-network services and the others' addresses."""
    color = COLORS["internal"] if network.internal else COLORS["network"]
    yield f"    subgraph {_id('cluster_net_' + network.name)} {{"
    yield "      graph " + _attrs(label=_network_label(network, stack),
                                  style="rounded,filled", fillcolor=color, color="#6b8fb5",
                                  labeljust="l", labelloc="t") + ";"
    for service in stack.services:
        if network.name not in service.networks:
            continue
        address = address_on(network, service.networks[network.name]) or "(dynamic)"
        spare = standby(network, service)
        addresses = [address, *([f"standby {spare} (start-first)"] if spare else [])]
        if service in single:
            yield "      " + _id("service", service.name) + " " + _attrs(
                label=_html(*_service_lines(stack, service), *addresses), shape="box",
                style="rounded,filled", fillcolor=COLORS["service"]) + ";"
        else:
            # This network's side of a service drawn between networks.
            yield "      " + _id("address", network.name, service.name) + " " + _attrs(
                label=_html(f"{service.name} {address}", *addresses[1:], bold=False),
                shape="box", style="rounded,filled", fontsize="10",
                fillcolor=COLORS["service"], color="#6b8fb5") + ";"
    if not any(network.name in s.networks for s in stack.services):
        yield "      " + _id("empty", network.name) + " " + _attrs(
            label="(no services)", shape="plaintext", style="") + ";"
    yield "    }"


def _between_networks(stack: Stack, single: list[Service]) -> Iterator[str]:
    """Services on several networks: once, between their networks."""
    order = [n.name for n in _front_first(stack)]
    for service in stack.services:
        if service in single:
            continue
        lines = _service_lines(stack, service)
        if not service.networks:
            lines.append("no network")
        yield "    " + _id("service", service.name) + " " + _attrs(
            label=_html(*lines), shape="box", style="rounded,filled",
            fillcolor=COLORS["service"]) + ";"
        if not service.networks:
            continue
        # Left to right: from the network nearest the published ports, through the
        # service, to the others (the article's proxy -> app -> database).
        first, *rest = sorted(service.networks, key=order.index)
        ends = [(_id("address", first, service.name), _id("service", service.name))]
        ends += [(_id("service", service.name), _id("address", n, service.name)) for n in rest]
        for tail, head in ends:
            yield f"    {tail} -> {head} " + _attrs(dir="none", color="#6b8fb5",
                                                    penwidth="1.5") + ";"
        # In those farther networks, their own services sit right of where it comes in.
        for farther in rest:
            for other in single:
                if farther in other.networks:
                    yield (f"    {_id('address', farther, service.name)} -> "
                           f"{_id('service', other.name)} [style=invis];")


def _client(service: Service, port: Port) -> str:
    return _id("clients", service.name, str(port.host), port.protocol)


def _port(service: Service, port: Port) -> str:
    return _id("port", service.name, str(port.host), port.protocol)


def _edges(stack: Stack, published: list[tuple[Service, Port]]) -> Iterator[str]:
    for service, port in published:
        yield f"  {_client(service, port)} -> {_port(service, port)} " + _attrs(
            color=TRAFFIC_COLOR, penwidth="1.5") + ";"
        yield f"  {_port(service, port)} -> {_id('service', service.name)} " + _attrs(
            color=TRAFFIC_COLOR, penwidth="1.5") + ";"
    # Requests a proxy passes on: they set the left-to-right order (proxy, then its
    # upstreams). What waits for what does not: dashed, beside the traffic.
    needs = {(f.source, f.target): f.label for f in dependencies(stack)}
    for flow in traffic(stack):
        # A proxy that also depends on its upstream: one arrow saying both.
        label = "\n".join([flow.label, *filter(None, [needs.pop((flow.source, flow.target),
                                                                 "")])])
        yield (f"  {_id('service', flow.source)} -> {_id('service', flow.target)} "
               + _attrs(label=_html(*label.split("\n"), bold=False), color=TRAFFIC_COLOR,
                        fontcolor=TRAFFIC_COLOR, penwidth="1.5") + ";")
    for flow in (f for f in dependencies(stack) if (f.source, f.target) in needs):
        yield (f"  {_id('service', flow.source)} -> {_id('service', flow.target)} "
               + _attrs(label=flow.label, color=NEEDS_COLOR, fontcolor=NEEDS_COLOR,
                        style="dashed", constraint="false") + ";")
    for service in stack.services:
        for mount in service.mounts:
            target = _mount_target(mount)
            if target is None:
                continue
            kind, name, mode = target
            yield "  " + _id("service", service.name) + " -> " + _id(kind, name) + " " + _attrs(
                label=f"{_container_path(mount)} ({mode})", style="dashed",
                arrowhead="none") + ";"


def _mount_target(mount: Mount) -> tuple[str, str, str] | None:
    """(kind, host-side name, ro/rw) of what a mount attaches; None for a tmpfs."""
    if isinstance(mount, Bind):
        return "bind", mount.source, "ro" if mount.read_only else "rw"
    if isinstance(mount, VolumeMount):
        return "volume", mount.volume, "ro" if mount.read_only else "rw"
    if isinstance(mount, SecretMount):
        return "secret", mount.secret, "ro"
    return None


def _container_path(mount: Mount) -> str:
    return mount.path if isinstance(mount, SecretMount) else mount.target


def _mount_sources(stack: Stack) -> Iterator[tuple[str, str, str, str]]:
    seen: set[tuple[str, str]] = set()
    for service in stack.services:
        for mount in service.mounts:
            target = _mount_target(mount)
            if target is None or target[:2] in seen:
                continue
            kind, name, _ = target
            seen.add((kind, name))
            if kind == "bind":
                yield kind, name, name, "folder"
            elif kind == "volume":
                yield kind, name, f"volume {stack.volume_name(name)}", "cylinder"
            else:
                yield kind, name, f"secret {name}", "note"
