"""`status`: how each service is doing (state, readiness, restarts, uptime, memory, CPU)
and whether the host holds the stack (memory against the declared limits, disk against
the volumes), gathered from the engine as plain data, shown as a table or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..console import table_lines
from ..declaration.model import Stack
from ..declaration.units import memory_bytes
from ..engine.backend import ContainerUsage, Engine, HostUsage


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    container: str
    state: str  # running, exited, ...; "missing": never created (deploy creates it)
    # healthy, unhealthy, starting, "healthy (probed)" (Docker's first check is still due;
    # the health command passed when status ran it), "running (no healthcheck)", the state
    readiness: str
    restarts: int
    uptime: float | None  # seconds
    memory_used: int | None  # bytes
    memory_limit: int | None  # bytes: the container's, else the declared one
    cpu_percent: float | None


@dataclass(frozen=True)
class HostStatus:
    memory_total: int  # bytes
    memory_limits: int  # the declared limits together
    memory_reserve: int  # kept for the host itself (Stack.memory_reserve)
    docker_root: str
    disk_total: int | None
    disk_free: int | None
    volumes_size: int  # the project's volumes together (those measured)
    volume_sizes: dict[str, int]


@dataclass(frozen=True)
class StackStatus:
    project: str
    where: str
    services: list[ServiceStatus]
    host: HostStatus


def gather(stack: Stack, engine: Engine, now: float) -> StackStatus:
    # The service's own container, not a one-off of it (`invoke run`: `<name>-run-...`).
    found = {u.service: u for u in engine.container_usage(stack.project)
             if u.name == stack.container_name(u.service)}
    services = [service_status(stack, s.name, found.get(s.name), now) for s in stack.services]
    return StackStatus(stack.project, engine.where, services,
                       host_status(stack, engine.host_usage(stack.project)))


def service_status(stack: Stack, service: str, usage: ContainerUsage | None,
                   now: float) -> ServiceStatus:
    declared = memory_bytes(stack.service(service).limits.memory)
    if usage is None:
        return ServiceStatus(service, stack.container_name(service), "missing", "missing", 0,
                             None, None, declared, None)
    return ServiceStatus(
        service, usage.name, usage.state, readiness(usage.state, usage.health),
        usage.restarts, max(0.0, now - usage.started_at) if usage.started_at else None,
        usage.memory_used, usage.memory_limit or declared, usage.cpu_percent)


def readiness(state: str, health: str | None) -> str:
    if state != "running":
        return state
    return health or "running (no healthcheck)"


def host_status(stack: Stack, host: HostUsage) -> HostStatus:
    measured = [size for size in host.volume_sizes.values() if size >= 0]
    return HostStatus(
        memory_total=host.memory_total,
        memory_limits=sum(memory_bytes(s.limits.memory) for s in stack.services),
        memory_reserve=memory_bytes(stack.memory_reserve), docker_root=host.docker_root,
        disk_total=host.disk_total, disk_free=host.disk_free, volumes_size=sum(measured),
        volume_sizes=dict(host.volume_sizes))


# --- showing it -------------------------------------------------------------------------


def as_json(status: StackStatus) -> str:
    return json.dumps(asdict(status), indent=2)


def table(status: StackStatus) -> list[str]:
    rows = [[s.service, s.state, s.readiness, str(s.restarts), duration(s.uptime),
             f"{size(s.memory_used)} / {size(s.memory_limit)}",
             "-" if s.cpu_percent is None else f"{s.cpu_percent:.1f}%"]
            for s in status.services]
    lines = table_lines(["SERVICE", "STATE", "READINESS", "RESTARTS", "UPTIME",
                         "MEMORY (USED / LIMIT)", "CPU"], rows)
    return [*lines, *host_lines(status.host)]


def host_lines(host: HostStatus) -> list[str]:
    room = host.memory_total - host.memory_reserve - host.memory_limits
    verdict = "fits" if room >= 0 else f"OVER by {size(-room)}"
    lines = [f"host memory: {size(host.memory_total)}; the limits together "
             f"{size(host.memory_limits)} + reserve {size(host.memory_reserve)}: {verdict}"]
    if host.disk_total is None or host.disk_free is None:
        lines.append(f"host disk ({host.docker_root}): unknown; volumes "
                     f"{size(host.volumes_size)}")
    else:
        lines.append(f"host disk ({host.docker_root}): {size(host.disk_free)} free of "
                     f"{size(host.disk_total)}; the stack's volumes {size(host.volumes_size)}")
    return lines


def size(value: int | None) -> str:
    if value is None:
        return "-"
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"
