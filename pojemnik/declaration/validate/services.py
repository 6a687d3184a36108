"""Checks of one service on its own: names, references, mounts, limits, ports."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import PurePosixPath

from ..model import Bind, Logs, Port, SecretMount, Service, Stack, Tmpfs, VolumeMount
from ..origins import from_text, unusable
from ..suggest import closest, suggesting
from ..units import memory_bytes
from ._updates import check_updates
from .release import check_release

Add = Callable[[str, str, str], None]  # field, message, fix
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
RESTART_POLICIES = {"no", "always", "unless-stopped", "on-failure"}


def check_service(stack: Stack, service: Service, add: Add) -> None:
    """Every problem of one service on its own (names it refers to must be declared)."""
    field = f"services.{service.name}"
    if not NAME.match(service.name):
        add(field, f"service name {service.name!r} is not a valid docker name",
            "use lowercase letters, digits, '-', '_' or '.'")
    networks = [n.name for n in stack.networks]
    for net in service.networks:
        if net not in networks:
            known = ", ".join(networks) or "none"
            add(f"{field}.networks.{net}", f"unknown network {net!r}",
                suggesting(net, networks, f"use a declared network ({known}) or declare it"))
    services = [s.name for s in stack.services]
    for dep in service.depends_on:
        if dep not in services:
            add(f"{field}.depends_on", f"unknown service {str(dep)!r}",
                suggesting(dep, services,
                           "depend on a declared service, or remove the dependency"))
        elif dep == service.name:
            add(f"{field}.depends_on", "a service cannot depend on itself",
                "remove it from depends_on")
    if service.heal_after is not None and service.heal_after < 1:
        add(f"{field}.heal_after", f"heal_after={service.heal_after} is not a count of checks",
            "give 1 or more (3 is usual), or None to never restart it")
    _mounts(stack, field, service, add)
    _limits(field, service, add)
    if service.logs is not None:
        check_logs(f"{field}.logs", service.logs, add)
    if service.restart.split(":")[0] not in RESTART_POLICIES:
        add(f"{field}.restart", f"unknown restart policy {service.restart!r}",
            "use one of: " + ", ".join(sorted(RESTART_POLICIES)))
    for i, port in enumerate(service.ports):
        _port(f"{field}.ports[{i}]", port, add, stack)
    check_updates(stack, service, add)
    check_release(stack, service, add)


def _mounts(stack: Stack, field: str, service: Service, add: Add) -> None:
    targets: list[str] = []
    for i, mount in enumerate(service.mounts):
        where = f"{field}.mounts[{i}]"
        target = mount.path if isinstance(mount, SecretMount) else mount.target
        targets.append(target)
        if not PurePosixPath(target).is_absolute():
            add(where, f"target {target!r} is not an absolute path",
                "mount at an absolute path inside the container, e.g. /srv/site")
        if isinstance(mount, Bind):
            if PurePosixPath(mount.source).is_absolute() or ".." in PurePosixPath(
                    mount.source).parts:
                add(where, f"source {mount.source!r} is outside the repository",
                    "keep mounted files in the repository (config/, www/) and "
                    "give a relative path")
            elif not (stack.root / mount.source).exists():
                add(where, f"mount source {mount.source} does not exist",
                    _near_path(stack, mount.source,
                               f"create {mount.source} in the repository, or fix the path"))
            if mount.read_only and (outer := _writable_around(stack, mount.source)):
                add(where, f"{mount.source} is mounted read-only inside {outer}, which a "
                    "service mounts writable: a remote deploy never overwrites what the "
                    f"containers write under {outer}, so the checkout's {mount.source} "
                    "would never reach the server",
                    f"move {mount.source} out of {outer}, or mount it writable too")
        elif isinstance(mount, VolumeMount):
            if mount.volume not in (volumes := [v.name for v in stack.volumes]):
                add(where, f"unknown volume {mount.volume!r}",
                    suggesting(mount.volume, volumes,
                               f"declare Volume({mount.volume!r}) in volumes"))
        elif isinstance(mount, SecretMount):
            if mount.secret not in (secrets := [s.name for s in stack.secrets]):
                add(where, f"unknown secret {mount.secret!r}",
                    suggesting(mount.secret, secrets,
                               f"declare Secret({mount.secret!r}) in secrets"))
        elif isinstance(mount, Tmpfs):
            try:
                memory_bytes(mount.size)
            except ValueError:
                add(where, f"tmpfs size {mount.size!r} is not a size",
                    "write it like docker does: 16m, 1g")
    for target in sorted({t for t in targets if targets.count(t) > 1}):
        add(f"{field}.mounts", f"two mounts at {target}", "mount one thing per path")


def _near_path(stack: Stack, source: str, fix: str) -> str:
    """`fix`, led by the path beside `source` spelt like it (www/updates.localhst)."""
    path = PurePosixPath(source)
    try:
        beside = [p.name for p in (stack.root / path.parent).iterdir()]
    except OSError:
        return fix
    near = closest(path.name, beside)
    return f"did you mean {path.parent / near}? If not: {fix}" if near else fix


def _writable_around(stack: Stack, source: str) -> str | None:
    """The writable bind that holds `source` strictly inside it, if any."""
    inner = PurePosixPath(source)
    return next((path for path in stack.data_paths()
                 if PurePosixPath(path) in inner.parents), None)


def _limits(field: str, service: Service, add: Add) -> None:
    try:
        if memory_bytes(service.limits.memory) < 6 * 1024**2:
            add(f"{field}.limits.memory", f"{service.limits.memory} is below Docker's "
                "minimum of 6m", "give the service at least 6m, usually 64m or more")
    except ValueError:
        add(f"{field}.limits.memory", f"{service.limits.memory!r} is not a size",
            "write it like docker does: 64m, 1g")
    if service.limits.cpus <= 0:
        add(f"{field}.limits.cpus", "cpus must be above 0", "e.g. cpus=0.5")
    if service.limits.pids < 1:
        add(f"{field}.limits.pids", "pids must be at least 1", "e.g. pids=100")


def check_logs(field: str, logs: Logs, add: Add) -> None:
    try:
        if memory_bytes(logs.max_size) < 1024:
            add(f"{field}.max_size", f"{logs.max_size} is too small for a log file",
                "keep at least 1m per file, e.g. 10m")
    except ValueError:
        add(f"{field}.max_size", f"{logs.max_size!r} is not a size",
            "write it like docker does: 10m, 1g")
    if logs.max_files < 1:
        add(f"{field}.max_files", "max_files must be at least 1", "e.g. max_files=3")


def _port(where: str, port: Port, add: Add, stack: Stack) -> None:
    for kind, value in (("host", port.host), ("container", port.container)):
        if not unusable(value) and not 1 <= value <= 65535:
            origin = from_text(stack.origins, value) if kind == "host" else ""
            add(where + origin, f"{kind} port {value} is out of range",
                "use a port from 1 to 65535")
    if port.protocol not in ("tcp", "udp"):
        add(where, f"unknown protocol {port.protocol!r}", "use tcp or udp")
    try:
        ipaddress.ip_address(port.address)
    except ValueError:
        add(where + from_text(stack.origins, port.address),
            f"bind address {port.address!r} is not an IP address",
            "use 127.0.0.1 (this host only) or 0.0.0.0 (every interface)")
