"""Check a Swarm deploy against what the manager reports, before anything changes: the
engine is a manager, no single-host deploy of the project is in the way, networks are
overlays with the declared subnets, each service's placement leaves it a node (exactly
one for a service with data), configs fit Swarm's size limit. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable

from ...declaration.model import Bind, Service, Stack
from ...declaration.problems import Problem
from ...declaration.validate.swarm import data_of
from ..checks import check_against_engine
from ..state import Observed
from .spec import pin
from .state import ObservedNode, SwarmState

Add = Callable[[str, str, str], None]  # field, message, fix
MAX_CONFIG = 1000 * 1024  # bytes: Swarm takes configs smaller than this
SWARM_TASK = "com.docker.swarm.task.id"  # on the containers of a service's tasks
CONSTRAINT = re.compile(r"^\s*([\w.-]+)\s*(==|!=)\s*(.*?)\s*$")


def check_swarm_engine(stack: Stack, observed: Observed, state: SwarmState,
                       where: str) -> list[Problem]:
    def add(field: str, message: str, fix: str) -> None:
        problems.append(Problem(f"{stack.source}: {field}", message, fix))

    problems: list[Problem] = []
    if not state.node_id or not state.manager:
        role = "a worker" if state.node_id else "not part of a swarm"
        add("target", f"target is swarm, and the engine at {where} is {role}",
            "deploy through a manager: `docker swarm init` on the server first (see "
            "pojemnik's docs/guides/swarm.md), or set the target to host")
        return problems
    plain = [c for c in observed.containers if SWARM_TASK not in c.labels]
    if plain:
        names = ", ".join(sorted(c.name for c in plain))
        add("target", f"the project runs as plain containers on {where} ({names}): a "
            "single-host deploy", "remove them first with `down` while the target is still "
            "host (volumes are kept), then deploy with target swarm")
    problems += check_against_engine(stack, observed, swarm=True)
    _networks(stack, state, add)
    for service in stack.services:
        _placement(stack, service, state, add)
    for path, found in sorted(state.files.items()):
        if found.size >= MAX_CONFIG:
            add(f"mounts: {path}", f"{found.size // 1024} KiB is over Swarm's limit of "
                f"{MAX_CONFIG // 1024 - 1} KiB for a config",
                "keep large files in the image, or in a volume of a service pinned to a node")
    return problems


def _networks(stack: Stack, state: SwarmState, add: Add) -> None:
    for net in stack.networks:
        name = stack.network_name(net.name)
        found = state.network(name)
        if found is None:
            continue
        if found.driver and found.driver != "overlay":
            add(f"networks.{net.name}", f"network {name} exists with driver {found.driver} "
                "(left by a single-host deploy?), not overlay",
                f"remove it (`docker network rm {name}`, once no container uses it), then "
                "deploy again")
        elif found.internal != net.internal:
            add(f"networks.{net.name}.internal", f"network {name} exists with internal="
                f"{found.internal}, declared {net.internal}",
                "remove the project's services and the network (`down`), then deploy again")


def _placement(stack: Stack, service: Service, state: SwarmState, add: Add) -> None:
    field = f"services.{service.name}.placement"
    constraints = [*service.placement, *pin(stack, service, state)]
    usable = [n for n in state.nodes if n.usable]
    chosen = [n for n in usable if all(matches(c, n) for c in constraints)]
    listing = ", ".join(f"{n.hostname} ({_describe(n)})" for n in state.nodes) or "none"
    if not chosen and service.replicas > 0:
        add(field, f"no node may run it: {constraints or 'no constraints'} match none of the "
            f"active, ready nodes (nodes: {listing})",
            "label a node (`docker node update --label-add NAME=VALUE NODE`), change the "
            "placement, or make the node active (`docker node update --availability active`)")
        return
    if data_of(service) and service.placement:
        every = [n for n in state.nodes if all(matches(c, n) for c in constraints)]
        if len(every) > 1:
            add(field, f"it keeps data ({', '.join(data_of(service))}), and its placement "
                f"matches {len(every)} nodes ({', '.join(n.hostname for n in every)}): a task "
                "moved to another would start with empty data",
                "pin it to one node: node.hostname==NAME, or a label only that node has")
    writable = [m.source for m in service.mounts if isinstance(m, Bind) and not m.read_only]
    if writable and any(n.id != state.node_id for n in chosen):
        add(field, f"writable bind mounts ({', '.join(writable)}) are made on the manager "
            "deployed through, and the placement allows other nodes",
            "drop the placement (it is pinned to the manager), or keep the data in a volume")


def matches(constraint: str, node: ObservedNode) -> bool:
    """Whether a node satisfies a Swarm placement constraint (values compared as Swarm
    does, ignoring case; a missing label is unequal to everything)."""
    found = CONSTRAINT.match(constraint)
    if not found:
        return False
    key, op, value = found.groups()
    actual = _attribute(key, node)
    equal = actual is not None and actual.casefold() == value.casefold()
    return equal if op == "==" else not equal


def _attribute(key: str, node: ObservedNode) -> str | None:
    fixed = {"node.id": node.id, "node.hostname": node.hostname, "node.role": node.role,
             "node.platform.os": node.os, "node.platform.arch": node.arch}
    if key in fixed:
        return fixed[key]
    if key.startswith("node.labels."):
        return node.labels.get(key.removeprefix("node.labels."))
    if key.startswith("engine.labels."):
        return node.engine_labels.get(key.removeprefix("engine.labels."))
    return None


def _describe(node: ObservedNode) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(node.labels.items()))
    return f"{node.role}, {node.availability}" + (f", {labels}" if labels else "")

