"""Check a declaration against itself, before anything is observed or changed.

Pure: takes the stack, returns every problem found (never stops at the first), each
with the file/field and the fix. A stack with problems is never applied. Checks
against what the engine reports come after observing, in `planning.checks`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from ..alerts import check_alerts
from ..model import Network, Port, Stack
from ..origins import from_text, unusable, variable_hint
from ..problems import Problem
from ..ranges import free_range
from ._fit import address_in, check_fit, gateway_in, misfit
from .backup import check_backup
from .images import check_images
from .jobs import check_jobs
from .services import NAME, check_logs, check_service
from .swarm import check_swarm
from .tls import check_tls

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network


def check_declaration(stack: Stack, images_only: bool = False) -> list[Problem]:
    """`images_only`: just what building needs (e.g. building here to ship to another
    host, while this engine runs a stack on the same subnets and ports)."""
    v = _Validator(stack)
    v.project()
    check_images(stack, v.add)
    v.retention()
    if images_only:
        return v.problems
    subnets = v.networks()
    v.resources()
    check_logs("logs", stack.logs, v.add)
    for service in stack.services:
        check_service(stack, service, v.add)
    v.duplicate_services()
    v.addresses(subnets)
    v.ports()
    v.cycles()
    check_swarm(stack, v.add)
    if stack.alerts is not None:
        check_alerts(stack.alerts, v.add)
    check_tls(stack, v.add)
    check_backup(stack, v.add)
    check_jobs(stack, v.add)
    return v.problems


MIN_SECRET = 16  # random characters of a generated secret (~96 bits)
MAX_PROJECT = 48  # leaves room for "-<service>" and "-next" in a container name


def project_problems(stack: Stack) -> list[Problem]:
    """The project name alone: it names every Docker object and the stack's directory on
    a host (`/srv/pojemnik/<project>`), so every task checks it before anything else."""
    v = _Validator(stack)
    v.project()
    return v.problems


class _Validator:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.problems: list[Problem] = []

    def add(self, field: str, message: str, fix: str, value: object = None) -> None:
        """`value`: the offending value; one read from a setting names it in `where`. A
        setting's unusable value was reported by the settings: not again here."""
        if unusable(value):
            return
        where = f"{self.stack.source}: {field}{from_text(self.stack.origins, value)}"
        self.problems.append(Problem(where, message, fix))

    def hint(self, value: object, fallback: str) -> str:
        return variable_hint(self.stack.origins, value, fallback)

    def project(self) -> None:
        name = self.stack.project
        if not NAME.match(name) or len(name) > MAX_PROJECT:
            variable = self.hint(name, "Stack.project")
            self.add(
                "project",
                f"project name {name!r} cannot be used in Docker object names"
                + (f" (longer than {MAX_PROJECT} characters)" if len(name) > MAX_PROJECT
                   else ""),
                f"set {variable} to lowercase letters, digits, '-', '_' or '.', starting "
                f"with a letter or digit, at most {MAX_PROJECT} characters",
                name,
            )

    # --- networks -------------------------------------------------------------

    def networks(self) -> dict[str, IPNet]:
        subnets: dict[str, IPNet] = {}
        for name in _duplicates(n.name for n in self.stack.networks):
            self.add(f"networks.{name}", "declared more than once",
                     "give each network a unique name")
        parsed = {net.name: self._subnet(net) for net in self.stack.networks}
        for net in self.stack.networks:
            subnet = parsed[net.name]
            if subnet is None:
                continue
            for other, other_subnet in subnets.items():
                if subnet.overlaps(other_subnet):
                    others = [s for name, s in parsed.items() if s is not None
                              and name != net.name]
                    self.add(f"networks.{net.name}.subnet",
                             f"{subnet} overlaps {other_subnet} of network {other!r}",
                             self._own_range(net, subnet, others), net.subnet)
            subnets[net.name] = subnet
        return subnets

    def _own_range(self, net: Network, subnet: IPNet, others: list[IPNet]) -> str:
        free = free_range(subnet, others)
        variable = self.hint(net.subnet, f"networks.{net.name}.subnet")
        if free is None:
            return f"give each network its own range ({variable})"
        return f"give each network its own range: set {variable} to e.g. {free}"

    def _subnet(self, net: Network) -> IPNet | None:
        field = f"networks.{net.name}.subnet"
        try:
            subnet = ipaddress.ip_network(net.subnet, strict=True)
        except ValueError as error:
            variable = self.hint(net.subnet, "it")
            self.add(field, f"{net.subnet!r} is not a valid subnet ({error})",
                     f"write {variable} in CIDR form with host bits zero, e.g. 10.0.20.0/24",
                     net.subnet)
            return None
        if subnet.num_addresses < 4:
            self.add(field, f"{subnet} is too small for containers",
                     "use a /29 or larger (a /24 is usual)", net.subnet)
            return None
        if net.gateway is not None:
            try:
                gateway = ipaddress.ip_address(net.gateway)
            except ValueError:
                self.add(f"networks.{net.name}.gateway", f"{net.gateway!r} is not an IP address",
                         f"use an address inside {subnet}, e.g. {next(subnet.hosts())}",
                         net.gateway)
            else:
                if gateway not in subnet or gateway in (subnet.network_address,
                                                        subnet.broadcast_address):
                    self.add(f"networks.{net.name}.gateway",
                             f"gateway {gateway} is not a host address of {subnet}",
                             f"use an address inside {subnet}, e.g. {next(subnet.hosts())}",
                             net.gateway)
        return subnet

    # --- images, volumes, secrets --------------------------------------------

    def retention(self) -> None:
        keep = self.stack.keep_images
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            variable = self.hint(keep, "Stack.keep_images")
            self.add("keep_images", f"keep_images {keep!r} is not a number of releases",
                     f"set {variable} to a whole number, 1 or more (5 by default; the "
                     "running release and the one rollback goes to are always kept)", keep)

    def resources(self) -> None:
        for name in _duplicates(v.name for v in self.stack.volumes):
            self.add(f"volumes.{name}", "declared more than once", "give each volume a unique name")
        for name in _duplicates(s.name for s in self.stack.secrets):
            self.add(f"secrets.{name}", "declared more than once", "give each secret a unique name")
        for secret in self.stack.secrets:
            length = secret.length
            if isinstance(length, bool) or not isinstance(length, int) or length < MIN_SECRET:
                self.add(f"secrets.{secret.name}.length",
                         f"length {length!r} makes a guessable secret (or none at all)",
                         f"give {MIN_SECRET} or more random characters (32 by default), or "
                         "leave length out", length)

    def duplicate_services(self) -> None:
        for name in _duplicates(s.name for s in self.stack.services):
            self.add(f"services.{name}", "declared more than once",
                     "give each service a unique name")

    # --- cross-service checks -------------------------------------------------

    def addresses(self, subnets: dict[str, IPNet]) -> None:
        # Addresses their subnet cannot hold: one problem per subnet set in `.env`, else
        # one per address.
        blamed, skipped = check_fit(self.stack, subnets, self.add)
        self.problems += blamed
        taken: dict[tuple[str, str], str] = {}
        networks = {n.name: n for n in self.stack.networks}
        for service in self.stack.services:
            for net, host in service.networks.items():
                if host is None or net not in subnets:
                    continue
                where = f"services.{service.name}.networks.{net}"
                subnet = subnets[net]
                try:
                    ip = address_in(subnet, host)
                except ValueError as error:
                    self.add(where, f"{host!r} is not an address ({error})",
                             f"give a host number (3 means {subnet.network_address + 3}) "
                             "or a full address")
                    continue
                # Reported on its own; on a subnet blamed as a whole, the host numbers
                # still clash whatever its size.
                if net not in skipped and misfit(subnet, gateway_in(networks[net], subnet), ip):
                    continue
                key = (net, str(ip))
                if key in taken:
                    self.add(where, f"address {ip} is also given to service {taken[key]!r}",
                             "give each service its own address")
                else:
                    taken[key] = service.name

    def ports(self) -> None:
        seen: list[tuple[Port, str]] = []
        for service in self.stack.services:
            for i, port in enumerate(service.ports):
                where = f"services.{service.name}.ports[{i}]"
                for other, owner in seen:
                    if _same_host_port(port, other):
                        change = self.hint(port.host, "one of them")
                        self.add(where, f"host port {port.address}:{port.host}/{port.protocol} "
                                 f"is also published by service {owner!r}",
                                 f"publish each host port once (change {change})", port.host)
                        break
                seen.append((port, service.name))

    def cycles(self) -> None:
        graph = {s.name: [d for d in s.depends_on if d != s.name] for s in self.stack.services}
        for cycle in _find_cycles(graph):
            self.add(f"services.{cycle[0]}.depends_on",
                     "dependency cycle: " + " -> ".join([*cycle, cycle[0]]),
                     "remove one of these dependencies")



def _same_host_port(a: Port, b: Port) -> bool:
    if unusable(a.host) or unusable(b.host):
        return False  # a stand-in for a bad setting, reported by the settings
    if a.host != b.host or a.protocol != b.protocol:
        return False
    wildcard = {"0.0.0.0", "::"}
    return a.address == b.address or a.address in wildcard or b.address in wildcard


def _duplicates(names: Iterator[str] | list[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for name in names:
        if name in seen and name not in dups:
            dups.append(name)
        seen.add(name)
    return dups


def _find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each cycle once, as found by depth-first search."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):])
            elif state.get(nxt) is None:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in graph:
        if state.get(node) is None:
            visit(node)
    return cycles

