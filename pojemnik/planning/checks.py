"""Check a declaration against what the engine reports: taken subnets and ports, images
that exist nowhere, memory limits the host cannot hold. Pure, like the static checks it
follows (`declaration.validate.stack`)."""

from __future__ import annotations

import ipaddress

from ..declaration.model import LABEL_PROJECT, Network, Stack
from ..declaration.origins import from_text, variable_hint
from ..declaration.problems import Problem
from ..declaration.ranges import free_range
from ..declaration.units import memory_bytes
from ..declaration.validate.images import unknown_images
from ..declaration.validate.stack import IPNet, check_declaration
from .state import Observed


def validate(stack: Stack, observed: Observed | None = None, images_only: bool = False,
             recreate_networks: bool = False) -> list[Problem]:
    """Every problem at once: the declaration's own, then those against the engine.
    `recreate_networks`: the user agreed that networks whose settings changed are
    recreated."""
    problems = check_declaration(stack, images_only)
    if observed is not None:
        problems += check_against_engine(stack, observed, images_only, recreate_networks)
    return problems


def check_against_engine(stack: Stack, observed: Observed, images_only: bool = False,
                         recreate_networks: bool = False, swarm: bool = False) -> list[Problem]:
    """`swarm`: the engine is the manager of a cluster; its host's ports and memory are
    not the ones the services use."""
    checks = _EngineChecks(stack, observed, recreate_networks)
    if not images_only:
        checks.subnets()
        checks.images()
        if not swarm:
            checks.ports()
            checks.memory()
    return checks.problems


class _EngineChecks:
    def __init__(self, stack: Stack, observed: Observed, recreate_networks: bool) -> None:
        self.stack = stack
        self.observed = observed
        self.recreate_networks = recreate_networks
        self.problems: list[Problem] = []

    def add(self, field: str, message: str, fix: str, value: object = None) -> None:
        """`value`: the offending value; one read from a setting names it in `where`."""
        where = f"{self.stack.source}: {field}{from_text(self.stack.origins, value)}"
        self.problems.append(Problem(where, message, fix))

    def subnets(self) -> None:
        for net in self.stack.networks:
            try:
                subnet = ipaddress.ip_network(net.subnet, strict=True)
            except ValueError:
                continue  # reported by the declaration's own checks
            self._engine_overlap(net, subnet)

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
                        f"{existing.name!r}" + self._owner(existing.labels.get(LABEL_PROJECT)),
                        self._free_range_fix(net, subnet) + ", or remove that network",
                        net.subnet,
                    )

    def _free_range_fix(self, net: Network, subnet: IPNet) -> str:
        """Name a range free on the engine and among the other declared networks."""
        own = {self.stack.network_name(n.name) for n in self.stack.networks}
        taken = [_net(raw) for existing in self.observed.networks
                 if existing.name not in own for raw in existing.subnets]
        taken += [_net(n.subnet) for n in self.stack.networks if n.name != net.name]
        free = free_range(subnet, [t for t in taken if t is not None])
        variable = variable_hint(self.stack.origins, net.subnet, f"networks.{net.name}.subnet")
        if free is None:
            return f"choose a free range for {variable} (see `docker network inspect`)"
        return f"set {variable} to a free range, e.g. {free} (free on this engine)"

    def _owner(self, project: str | None) -> str:
        """Another environment's (or project's) stack: the collision names both."""
        return (f" (the stack of project {project!r}; {self.stack.project!r} would "
                "collide with it)" if project else "")

    def images(self) -> None:
        for field, message, fix in unknown_images(self.stack, self.observed.images):
            self.add(field, message, fix)

    def ports(self) -> None:
        busy = set(self.observed.busy_ports)
        for service in self.stack.services:
            for i, port in enumerate(service.ports):
                key = (port.address, port.host, port.protocol)
                if key in busy:
                    holder = self.observed.port_holders.get(key)
                    user = (f"published by container {holder[0]!r}" + self._owner(holder[1])
                            if holder else "in use by another program or container")
                    self.add(f"services.{service.name}.ports[{i}]",
                             f"host port {port.address}:{port.host}/{port.protocol} is "
                             f"already {user}",
                             "stop what uses it, or choose another port ("
                             + variable_hint(self.stack.origins, port.host,
                                             f"services.{service.name}.ports[{i}]") + ")",
                             port.host)

    def memory(self) -> None:
        """The services' memory limits together must fit the host, less the reserve."""
        host = self.observed.host_memory
        try:
            reserve = memory_bytes(self.stack.memory_reserve)
            total = sum(memory_bytes(s.limits.memory) for s in self.stack.services)
        except ValueError:
            return  # a malformed limit is reported by the declaration's own checks
        if not host or total <= host - reserve:
            return
        biggest = max(self.stack.services, key=lambda s: memory_bytes(s.limits.memory))
        self.add("services.*.limits.memory",
                 f"the services' memory limits total {mib(total)}, over the host's "
                 f"{mib(host)} less the reserve of {mib(reserve)} (memory_reserve) by "
                 f"{mib(total - (host - reserve))}",
                 f"lower limits (the largest: services.{biggest.name}.limits.memory = "
                 f"{biggest.limits.memory}), lower Stack.memory_reserve, or use a host with "
                 "more memory")


def mib(size: int) -> str:
    return f"{size / 1024**2:.0f} MiB"


def _net(raw: str) -> IPNet | None:
    try:
        return ipaddress.ip_network(raw, strict=False)
    except ValueError:
        return None
