"""Check a declaration against itself and against what the engine reports.

Pure: takes the stack and an `Observed` snapshot, returns every problem found
(never stops at the first), each with the file/field and the fix. Runs before
any side effect; a stack with problems is never applied.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from .model import (
    Bind,
    Network,
    Port,
    SecretMount,
    Service,
    Stack,
    Tmpfs,
    VolumeMount,
)
from .problems import Problem
from .spec import gateway_of, memory_bytes
from .state import Observed

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
RESTART_POLICIES = {"no", "always", "unless-stopped", "on-failure"}
IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network


def validate(stack: Stack, observed: Observed | None = None,
             images_only: bool = False, recreate_networks: bool = False) -> list[Problem]:
    """`images_only`: what building needs (e.g. building here to ship to another host,
    while this engine runs a stack on the same subnets and ports). `recreate_networks`:
    the user agreed that networks whose settings changed are recreated."""
    observed = observed or Observed()
    v = _Validator(stack, observed, recreate_networks)
    v.project()
    v.images()
    if images_only:
        return v.problems
    subnets = v.networks()
    v.resources()
    for index, service in enumerate(stack.services):
        v.service(index, service, subnets)
    v.duplicate_services()
    v.addresses(subnets)
    v.ports()
    v.cycles()
    return v.problems


class _Validator:
    def __init__(self, stack: Stack, observed: Observed, recreate_networks: bool = False) -> None:
        self.stack = stack
        self.observed = observed
        self.recreate_networks = recreate_networks
        self.problems: list[Problem] = []

    def add(self, field: str, message: str, fix: str) -> None:
        self.problems.append(Problem(f"{self.stack.source}: {field}", message, fix))

    def project(self) -> None:
        if not NAME.match(self.stack.project):
            self.add(
                "project",
                f"project name {self.stack.project!r} cannot be used in Docker object names",
                "set POJEMNIK_PROJECT to lowercase letters, digits, '-', '_' or '.'",
            )

    # --- networks -------------------------------------------------------------

    def networks(self) -> dict[str, IPNet]:
        subnets: dict[str, IPNet] = {}
        for name in _duplicates(n.name for n in self.stack.networks):
            self.add(f"networks.{name}", "declared more than once",
                     "give each network a unique name")
        for net in self.stack.networks:
            subnet = self._subnet(net)
            if subnet is None:
                continue
            for other, other_subnet in subnets.items():
                if subnet.overlaps(other_subnet):
                    self.add(
                        f"networks.{net.name}.subnet",
                        f"{subnet} overlaps {other_subnet} of network {other!r}",
                        "give each network its own range, e.g. 10.0.10.0/24 and 10.0.20.0/24",
                    )
            self._engine_overlap(net, subnet)
            subnets[net.name] = subnet
        return subnets

    def _subnet(self, net: Network) -> IPNet | None:
        field = f"networks.{net.name}.subnet"
        try:
            subnet = ipaddress.ip_network(net.subnet, strict=True)
        except ValueError as error:
            self.add(field, f"{net.subnet!r} is not a valid subnet ({error})",
                     "write it in CIDR form with host bits zero, e.g. 10.0.20.0/24")
            return None
        if subnet.num_addresses < 4:
            self.add(field, f"{subnet} is too small for containers",
                     "use a /29 or larger (a /24 is usual)")
            return None
        if net.gateway is not None:
            try:
                gateway = ipaddress.ip_address(net.gateway)
            except ValueError:
                self.add(f"networks.{net.name}.gateway", f"{net.gateway!r} is not an IP address",
                         f"use an address inside {subnet}, e.g. {next(subnet.hosts())}")
            else:
                if gateway not in subnet or gateway in (subnet.network_address,
                                                        subnet.broadcast_address):
                    self.add(f"networks.{net.name}.gateway",
                             f"gateway {gateway} is not a host address of {subnet}",
                             f"use an address inside {subnet}, e.g. {next(subnet.hosts())}")
        return subnet

    def _engine_overlap(self, net: Network, subnet: IPNet) -> None:
        own_name = self.stack.network_name(net.name)
        for existing in self.observed.networks:
            for raw in existing.subnets:
                try:
                    other = ipaddress.ip_network(raw, strict=False)
                except ValueError:
                    continue
                if existing.name == own_name:
                    if other != subnet and not self.recreate_networks:
                        self.add(
                            f"networks.{net.name}.subnet",
                            f"network {own_name} already exists with subnet {other}, "
                            f"declared {subnet}; changing it means recreating the network "
                            "and every container on it",
                            "deploy with --recreate-networks (containers are recreated, "
                            f"volumes kept), or set the subnet back to {other}",
                        )
                elif subnet.version == other.version and subnet.overlaps(other):
                    self.add(
                        f"networks.{net.name}.subnet",
                        f"{subnet} overlaps {other} of existing docker network "
                        f"{existing.name!r}",
                        "choose a free range (see `docker network inspect`), or remove "
                        "that network",
                    )

    # --- images, volumes, secrets --------------------------------------------

    def images(self) -> None:
        for name in _duplicates(i.name for i in self.stack.images):
            self.add(f"images.{name}", "declared more than once", "give each image a unique name")
        for image in self.stack.images:
            field = f"images.{image.name}"
            if not NAME.match(image.name):
                self.add(field, f"image name {image.name!r} is not a valid docker name",
                         "use lowercase letters, digits, '-', '_' or '.'")
            context = self.stack.root / image.context_path
            if not context.is_dir():
                self.add(f"{field}.context", f"build context {image.context_path}/ does not exist",
                         f"create {image.context_path}/ with a Dockerfile, or fix the path")
            elif not (context / image.dockerfile).is_file():
                self.add(f"{field}.dockerfile",
                         f"{image.context_path}/{image.dockerfile} does not exist",
                         f"add {image.dockerfile} to {image.context_path}/")

    def resources(self) -> None:
        for name in _duplicates(v.name for v in self.stack.volumes):
            self.add(f"volumes.{name}", "declared more than once", "give each volume a unique name")
        for name in _duplicates(s.name for s in self.stack.secrets):
            self.add(f"secrets.{name}", "declared more than once", "give each secret a unique name")

    # --- services ---------------------------------------------------------------

    def duplicate_services(self) -> None:
        for name in _duplicates(s.name for s in self.stack.services):
            self.add(f"services.{name}", "declared more than once",
                     "give each service a unique name")

    def service(self, index: int, service: Service, subnets: dict[str, IPNet]) -> None:
        field = f"services.{service.name}"
        if not NAME.match(service.name):
            self.add(field, f"service name {service.name!r} is not a valid docker name",
                     "use lowercase letters, digits, '-', '_' or '.'")
        if self.stack.image(service.image) is None and service.image not in self.observed.images:
            declared = ", ".join(i.name for i in self.stack.images) or "none"
            self.add(f"{field}.image", f"unknown image {service.image!r} "
                     "(not declared, and not present on the engine)",
                     f"use a declared image ({declared}) or add images/{service.image}/")
        for net in service.networks:
            if net not in {n.name for n in self.stack.networks}:
                known = ", ".join(n.name for n in self.stack.networks) or "none"
                self.add(f"{field}.networks.{net}", f"unknown network {net!r}",
                         f"use a declared network ({known}) or declare it")
        for dep in service.depends_on:
            if dep not in {s.name for s in self.stack.services}:
                self.add(f"{field}.depends_on", f"unknown service {dep!r}",
                         "depend on a declared service, or remove the dependency")
            elif dep == service.name:
                self.add(f"{field}.depends_on", "a service cannot depend on itself",
                         "remove it from depends_on")
        self._mounts(field, service)
        self._limits(field, service)
        if service.restart.split(":")[0] not in RESTART_POLICIES:
            self.add(f"{field}.restart", f"unknown restart policy {service.restart!r}",
                     "use one of: " + ", ".join(sorted(RESTART_POLICIES)))
        for i, port in enumerate(service.ports):
            self._port(f"{field}.ports[{i}]", port)

    def _mounts(self, field: str, service: Service) -> None:
        targets: list[str] = []
        for i, mount in enumerate(service.mounts):
            where = f"{field}.mounts[{i}]"
            target = mount.path if isinstance(mount, SecretMount) else mount.target
            targets.append(target)
            if not PurePosixPath(target).is_absolute():
                self.add(where, f"target {target!r} is not an absolute path",
                         "mount at an absolute path inside the container, e.g. /srv/site")
            if isinstance(mount, Bind):
                if PurePosixPath(mount.source).is_absolute() or ".." in PurePosixPath(
                        mount.source).parts:
                    self.add(where, f"source {mount.source!r} is outside the repository",
                             "keep mounted files in the repository (config/, www/) and "
                             "give a relative path")
                elif not (self.stack.root / mount.source).exists():
                    self.add(where, f"mount source {mount.source} does not exist",
                             f"create {mount.source} in the repository, or fix the path")
            elif isinstance(mount, VolumeMount):
                if mount.volume not in {v.name for v in self.stack.volumes}:
                    self.add(where, f"unknown volume {mount.volume!r}",
                             f"declare Volume({mount.volume!r}) in volumes")
            elif isinstance(mount, SecretMount):
                if mount.secret not in {s.name for s in self.stack.secrets}:
                    self.add(where, f"unknown secret {mount.secret!r}",
                             f"declare Secret({mount.secret!r}) in secrets")
            elif isinstance(mount, Tmpfs):
                try:
                    memory_bytes(mount.size)
                except ValueError:
                    self.add(where, f"tmpfs size {mount.size!r} is not a size",
                             "write it like docker does: 16m, 1g")
        for target in _duplicates(targets):
            self.add(f"{field}.mounts", f"two mounts at {target}", "mount one thing per path")

    def _limits(self, field: str, service: Service) -> None:
        try:
            if memory_bytes(service.limits.memory) < 6 * 1024**2:
                self.add(f"{field}.limits.memory", f"{service.limits.memory} is below Docker's "
                         "minimum of 6m", "give the service at least 6m, usually 64m or more")
        except ValueError:
            self.add(f"{field}.limits.memory", f"{service.limits.memory!r} is not a size",
                     "write it like docker does: 64m, 1g")
        if service.limits.cpus <= 0:
            self.add(f"{field}.limits.cpus", "cpus must be above 0", "e.g. cpus=0.5")
        if service.limits.pids < 1:
            self.add(f"{field}.limits.pids", "pids must be at least 1", "e.g. pids=100")

    def _port(self, where: str, port: Port) -> None:
        for kind, value in (("host", port.host), ("container", port.container)):
            if not 1 <= value <= 65535:
                self.add(where, f"{kind} port {value} is out of range",
                         "use a port from 1 to 65535")
        if port.protocol not in ("tcp", "udp"):
            self.add(where, f"unknown protocol {port.protocol!r}", "use tcp or udp")
        try:
            ipaddress.ip_address(port.address)
        except ValueError:
            self.add(where, f"bind address {port.address!r} is not an IP address",
                     "use 127.0.0.1 (this host only) or 0.0.0.0 (every interface)")

    # --- cross-service checks -------------------------------------------------

    def addresses(self, subnets: dict[str, IPNet]) -> None:
        taken: dict[tuple[str, str], str] = {}
        networks = {n.name: n for n in self.stack.networks}
        for service in self.stack.services:
            for net, host in service.networks.items():
                if host is None or net not in subnets:
                    continue
                where = f"services.{service.name}.networks.{net}"
                subnet = subnets[net]
                try:
                    ip = (subnet.network_address + host if isinstance(host, int)
                          else ipaddress.ip_address(host))
                except (ValueError, ipaddress.AddressValueError) as error:
                    self.add(where, f"{host!r} is not an address ({error})",
                             f"give a host number (3 means {subnet.network_address + 3}) "
                             "or a full address")
                    continue
                if ip not in subnet:
                    self.add(where, f"address {ip} is outside the subnet {subnet}",
                             f"pick an address inside {subnet}")
                    continue
                reserved = {
                    subnet.network_address: "the network address",
                    subnet.broadcast_address: "the broadcast address",
                }
                # An unparsable declared gateway is reported by networks().
                with contextlib.suppress(ValueError):
                    reserved[ipaddress.ip_address(gateway_of(networks[net]))] = "the gateway"
                if ip in reserved:
                    self.add(where, f"address {ip} is {reserved[ip]} of {subnet}",
                             f"pick a host address from {subnet.network_address + 2} up")
                    continue
                key = (net, str(ip))
                if key in taken:
                    self.add(where, f"address {ip} is also given to service {taken[key]!r}",
                             "give each service its own address")
                else:
                    taken[key] = service.name

    def ports(self) -> None:
        seen: list[tuple[Port, str]] = []
        busy = set(self.observed.busy_ports)
        for service in self.stack.services:
            for i, port in enumerate(service.ports):
                where = f"services.{service.name}.ports[{i}]"
                for other, owner in seen:
                    if _same_host_port(port, other):
                        self.add(where, f"host port {port.address}:{port.host}/{port.protocol} "
                                 f"is also published by service {owner!r}",
                                 "publish each host port once (change one, e.g. in .env)")
                        break
                seen.append((port, service.name))
                if (port.address, port.host, port.protocol) in busy:
                    self.add(where, f"host port {port.address}:{port.host}/{port.protocol} is "
                             "already in use by another program or container",
                             "stop what uses it, or choose another port (e.g. HTTP_PORT in .env)")

    def cycles(self) -> None:
        graph = {s.name: [d for d in s.depends_on if d != s.name] for s in self.stack.services}
        for cycle in _find_cycles(graph):
            self.add(f"services.{cycle[0]}.depends_on",
                     "dependency cycle: " + " -> ".join([*cycle, cycle[0]]),
                     "remove one of these dependencies")


def _same_host_port(a: Port, b: Port) -> bool:
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


def startup_order(stack: Stack) -> list[list[str]]:
    """Services in waves: each wave depends only on earlier ones (run on a valid stack)."""
    remaining = {s.name: set(s.depends_on) for s in stack.services}
    waves: list[list[str]] = []
    done: set[str] = set()
    while remaining:
        wave = sorted(name for name, deps in remaining.items() if deps <= done)
        if not wave:
            raise ValueError("dependency cycle")  # validate() reports it first
        waves.append(wave)
        done.update(wave)
        for name in wave:
            del remaining[name]
    return waves
