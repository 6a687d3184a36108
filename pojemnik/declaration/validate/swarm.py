"""What a single host has and a Swarm lacks, made explicit: translated or refused.

Pure, like the other checks: run before anything is observed or changed.

- The Swarm fields (`replicas`, `mode`, `placement`, endpoint and publish modes) are
  checked on every target, so a typo is found before the first cluster deploy.
- On the Swarm target, refused (each with what to declare instead): ports published on
  one address (Swarm publishes on every interface of a node), data (named volumes,
  writable binds) in a service with more than one task, the routing mesh with DNS round
  robin (start-first services that publish ports are refused on every target).
- Translated, and said in the plan (`translations`): fixed container addresses (a task
  gets its address when it starts: the service name is the address, also in
  environment values that held one), mounted config files (Swarm configs), data (the
  service is pinned to one node), Reload (a changed file rolls the service).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable

from ..model import Bind, Service, Stack, Tmpfs, VolumeMount
from ..policy import StartFirst
from ..swarm import (
    DNSRR,
    ENDPOINT_MODES,
    GLOBAL,
    PUBLISH_INGRESS,
    PUBLISH_MODES,
    SERVICE_MODES,
    SWARM,
    TARGETS,
    VIP,
)
from ..units import address_on

Add = Callable[[str, str, str], None]  # field, message, fix
CONSTRAINT = re.compile(
    r"^\s*(node\.(id|hostname|role|platform\.os|platform\.arch|labels\.[^=!\s]+)"
    r"|engine\.labels\.[^=!\s]+)\s*(==|!=)\s*\S.*$")
WILDCARDS = {"0.0.0.0", "::"}


def check_swarm(stack: Stack, add: Add) -> None:
    if stack.target not in TARGETS:
        add("target", f"unknown target {stack.target!r}",
            "use \"host\" (one Docker engine) or \"swarm\" (a Docker Swarm, through a manager)")
    _modes("swarm.endpoint_mode", stack.swarm.endpoint_mode, ENDPOINT_MODES, add)
    _modes("swarm.publish_mode", stack.swarm.publish_mode, PUBLISH_MODES, add)
    if stack.swarm.monitor < 0 or stack.swarm.converge_timeout <= 0:
        add("swarm", "monitor and converge_timeout are seconds (monitor >= 0, timeout > 0)",
            "e.g. Swarm(monitor=5, converge_timeout=180)")
    for service in stack.services:
        _fields(service, add)
        if stack.target == SWARM:
            _on_swarm(stack, service, add)


def _modes(field: str, value: str | None, allowed: tuple[str, ...], add: Add) -> None:
    if value is not None and value not in allowed:
        add(field, f"unknown mode {value!r}", "use one of: " + ", ".join(allowed))


def _fields(service: Service, add: Add) -> None:
    field = f"services.{service.name}"
    if service.replicas < 0:
        add(f"{field}.replicas", f"replicas={service.replicas} is not a count of tasks",
            "give 0 or more (1 is usual)")
    _modes(f"{field}.mode", service.mode, SERVICE_MODES, add)
    if service.mode == GLOBAL and service.replicas != 1:
        add(f"{field}.replicas", "a global service runs one task on every node it may use; "
            "replicas has no meaning there", "drop replicas, or use mode=\"replicated\"")
    _modes(f"{field}.endpoint_mode", service.endpoint_mode, ENDPOINT_MODES, add)
    _modes(f"{field}.publish_mode", service.publish_mode, PUBLISH_MODES, add)
    for i, constraint in enumerate(service.placement):
        if not CONSTRAINT.match(constraint):
            add(f"{field}.placement[{i}]", f"{constraint!r} is not a Swarm constraint",
                "write it as node.labels.NAME==VALUE, node.hostname==NAME, "
                "node.role==manager (or != instead of ==)")


def _on_swarm(stack: Stack, service: Service, add: Add) -> None:
    field = f"services.{service.name}"
    for i, port in enumerate(service.ports):
        if port.address not in WILDCARDS:
            add(f"{field}.ports[{i}]", f"Swarm publishes a port on every interface of the "
                f"node running the task; it cannot keep it on {port.address}",
                "publish on 0.0.0.0 (the example: PUBLISH_ADDRESS=0.0.0.0); `fab -H "
                "root@manager firewall.apply` then drops what the stack does not publish, on "
                "every node, and firewall.allow limits who may connect to what it does")
    if service.ports and endpoint_mode(stack, service) == DNSRR \
            and publish_mode(stack, service) == PUBLISH_INGRESS:
        add(f"{field}.publish_mode", "the routing mesh (ingress) needs a virtual address, "
            "and the service is found by DNS round robin (dnsrr)",
            "publish in host mode (publish_mode=\"host\"), or use endpoint_mode=\"vip\" "
            "(both need IPVS in every node's kernel)")
    data = data_of(service)
    if data and (service.mode == GLOBAL or service.replicas > 1):
        tasks = "a task on every node" if service.mode == GLOBAL else \
            f"{service.replicas} tasks"
        add(f"{field}.replicas", f"it keeps data ({', '.join(data)}) on one node, and "
            f"{tasks} would each get their own, or share one",
            "run one task (replicas=1, mode=\"replicated\"), or keep the data in a database "
            "service the others reach by name")


def endpoint_mode(stack: Stack, service: Service) -> str:
    return service.endpoint_mode or stack.swarm.endpoint_mode


def publish_mode(stack: Stack, service: Service) -> str:
    return service.publish_mode or stack.swarm.publish_mode


def data_of(service: Service) -> list[str]:
    """What pins a service to one node: its named volumes and writable bind mounts."""
    return [f"volume {m.volume}" if isinstance(m, VolumeMount) else f"{m.source}/"
            for m in service.mounts
            if isinstance(m, VolumeMount) or (isinstance(m, Bind) and not m.read_only)]


def fixed_addresses(stack: Stack) -> dict[str, str]:
    """Every declared fixed address (standby ones too) -> the service that holds it."""
    found: dict[str, str] = {}
    known = {n.name for n in stack.networks}
    for service in stack.services:
        hosts = list(service.networks.items())
        if isinstance(service.update, StartFirst):
            hosts += list(service.update.standby.items())
        for net, host in hosts:
            if net in known:
                with contextlib.suppress(ValueError):
                    address = address_on(stack.network(net), host)
                    if address:
                        found[address] = service.name
    return found


def translated_environment(stack: Stack, service: Service) -> tuple[dict[str, str], list[str]]:
    """The environment with each fixed address replaced by its service's name (a Swarm
    task has no fixed address; Docker's DNS answers the name), and what was replaced."""
    addresses = fixed_addresses(stack)
    result: dict[str, str] = {}
    notes: list[str] = []
    for key, value in service.environment.items():
        new = value
        for address, owner in addresses.items():
            pattern = _address_pattern(address)
            if pattern is not None and pattern.search(new):
                new = pattern.sub(owner, new)
                notes.append(f"{service.name}: environment {key}: {address} (the fixed "
                             f"address of {owner}) becomes {owner!r}, its name: a Swarm "
                             "task has no fixed address")
        result[key] = new
    return result, notes


def translations(stack: Stack) -> list[str]:
    """What the Swarm target does differently from a single host, service by service."""
    notes: list[str] = []
    for service in stack.services:
        fixed = [f"{host} on {net}" for net, host in service.networks.items()
                 if host is not None]
        if fixed or (isinstance(service.update, StartFirst) and service.update.standby):
            notes.append(f"{service.name}: fixed addresses ({', '.join(fixed) or 'standby'}) "
                         "are not kept: tasks get theirs from the overlay network; others "
                         f"reach it by its name, {service.name!r}")
        notes += translated_environment(stack, service)[1]
        configs = sorted({m.source for m in service.mounts
                          if isinstance(m, Bind) and m.read_only})
        if configs:
            notes.append(f"{service.name}: mounted files ({', '.join(configs)}) become Swarm "
                         "configs named by their content: a changed file rolls the service")
        if service.mode != GLOBAL and service.replicas > 1:
            notes.append(f"{service.name}: {service.replicas} replicas, kept spread: when an "
                         "update leaves them crowding one node, one more task is started "
                         "(on the emptiest node), then Swarm removes the extra one from the "
                         "most crowded")
        if service.reload is not None:
            notes.append(f"{service.name}: Reload is not used: changed config rolls the "
                         "service (update order " + update_order(service) + ")")
        data = data_of(service)
        if data:
            where = (f"placement {list(service.placement)}" if service.placement
                     else "the manager deployed through")
            notes.append(f"{service.name}: keeps data ({', '.join(data)}) on one node: "
                         f"pinned to {where}")
        tmpfs = [m.target for m in service.mounts if isinstance(m, Tmpfs)]
        if tmpfs:
            notes.append(f"{service.name}: tmpfs ({', '.join(tmpfs)}) mounted without noexec "
                         "and nosuid, and the tasks without no-new-privileges: Swarm's service "
                         "API (Docker 20.10) cannot set them; the read-only root and dropped "
                         "capabilities still hold")
        if endpoint_mode(stack, service) == VIP or (
                service.ports and publish_mode(stack, service) == PUBLISH_INGRESS):
            notes.append(f"{service.name}: vip/ingress need IPVS (the ip_vs module) in every "
                         "node's kernel; without it connections are refused")
    return notes


def update_order(service: Service) -> str:
    """Stateless (StartFirst) services start the new task first; others stop first."""
    return "start-first" if isinstance(service.update, StartFirst) else "stop-first"


def _address_pattern(address: str) -> re.Pattern[str] | None:
    """The address as a whole word: 10.0.20.3 in "10.0.20.3:80", not in "10.0.20.30"."""
    try:
        version = ipaddress.ip_address(address).version
    except ValueError:
        return None
    if version == 4:
        return re.compile(rf"(?<![0-9.]){re.escape(address)}(?![0-9]|\.[0-9])")
    return re.compile(rf"(?<![0-9A-Fa-f:]){re.escape(address)}(?![0-9A-Fa-f:])")
