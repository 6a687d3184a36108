"""What a project's containers and their host use, read through the Docker API: one
inspection and one non-streamed stats sample per container, and `info`; the disk and
the volumes' sizes are measured on the engine's host (`HostDisk`: here, or over SSH).

Not `docker system df`: it measures every image, container and volume on the engine,
and took over a minute on a busy test machine; `du` of the project's volumes is instant.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

import docker

from ..declaration.model import LABEL_PROJECT, LABEL_SERVICE
from .backend import ContainerUsage, HostUsage
from .readiness import PROBED_HEALTHY, health_command, probe


class HostDisk(Protocol):
    """Files on the engine's host."""

    def usage(self, path: str) -> tuple[int, int] | None:
        """Total and free bytes of the filesystem holding `path`; None if unknown."""
        ...

    def size(self, path: str) -> int | None:
        """Bytes used under `path` (`du`); None if it cannot be read."""
        ...


class LocalDisk:
    """This machine (a local engine)."""

    def usage(self, path: str) -> tuple[int, int] | None:
        try:
            found = shutil.disk_usage(path)
        except OSError:
            return None
        return found.total, found.free

    def size(self, path: str) -> int | None:
        try:
            result = subprocess.run(["du", "-sk", path], capture_output=True, text=True,
                                    timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return parse_du(result.stdout) if result.returncode == 0 else None


def parse_du(output: str) -> int | None:
    """`du -sk PATH` -> bytes."""
    try:
        return int(output.split()[0]) * 1024
    except (IndexError, ValueError):
        return None

SAMPLERS = 4  # stats samples taken at once (each waits about a second for the engine)


def container_usage(api: docker.APIClient, project: str) -> list[ContainerUsage]:
    rows = api.containers(all=True, filters={"label": f"{LABEL_PROJECT}={project}"})
    if not rows:
        return []
    with ThreadPoolExecutor(max_workers=min(SAMPLERS, len(rows))) as pool:
        found = list(pool.map(lambda row: _one(api, row["Id"]), rows))
    return sorted(found, key=lambda u: u.name)


def _one(api: docker.APIClient, container: str) -> ContainerUsage:
    inspected = api.inspect_container(container)
    state = inspected.get("State") or {}
    running = state.get("Status") == "running"
    limit = int((inspected.get("HostConfig") or {}).get("Memory") or 0) or None
    used = cpu = None
    if running:
        stats = api.stats(container, stream=False)
        used, cpu = memory_used(stats), cpu_percent(stats)
    return ContainerUsage(
        name=str(inspected.get("Name", "")).lstrip("/"),
        service=((inspected.get("Config") or {}).get("Labels") or {}).get(LABEL_SERVICE, ""),
        state=str(state.get("Status", "unknown")),
        health=health(api, container, inspected),
        restarts=int(inspected.get("RestartCount") or 0),
        started_at=parse_time(state.get("StartedAt", "")) if running else None,
        memory_used=used, memory_limit=limit, cpu_percent=cpu)


def health(api: docker.APIClient, container: str, inspected: dict[str, Any]) -> str | None:
    """Docker's health status; for "starting", the health command is run once, as a
    deploy's readiness probe does: Docker's first check comes one `interval` after the
    start (15 s for the example's app), and until then it says "starting" of a service
    the deploy saw ready."""
    status = ((inspected.get("State") or {}).get("Health") or {}).get("Status")
    command = health_command(inspected.get("Config") or {})
    if status == "starting" and command and probe(api, container, command)[0] == 0:
        return PROBED_HEALTHY
    return status


def memory_used(stats: dict[str, Any]) -> int | None:
    """Usage less the reclaimable page cache, as `docker stats` shows it."""
    memory = stats.get("memory_stats") or {}
    if "usage" not in memory:
        return None
    detail = memory.get("stats") or {}
    cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))  # v1, v2
    return max(0, int(memory["usage"]) - int(cache))


def cpu_percent(stats: dict[str, Any]) -> float | None:
    now, before = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    try:
        used = now["cpu_usage"]["total_usage"] - before["cpu_usage"]["total_usage"]
        system = now["system_cpu_usage"] - before["system_cpu_usage"]
    except (KeyError, TypeError):
        return None
    cpus = now.get("online_cpus") or len(now["cpu_usage"].get("percpu_usage") or []) or 1
    return round(100.0 * used / system * cpus, 1) if system > 0 else 0.0


def parse_time(text: str) -> float | None:
    """Docker's RFC 3339 times carry nanoseconds; Python reads microseconds."""
    if not text or text.startswith("0001-"):
        return None
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(trimmed).timestamp()
    except ValueError:
        return None


def host_usage(api: docker.APIClient, project: str, disk: HostDisk) -> HostUsage:
    info = api.info()
    root = str(info.get("DockerRootDir") or "/var/lib/docker")
    sizes: dict[str, int] = {}
    found = api.volumes(filters={"label": f"{LABEL_PROJECT}={project}"})
    for volume in found.get("Volumes") or []:
        measured = disk.size(volume["Mountpoint"]) if volume.get("Mountpoint") else None
        sizes[volume["Name"]] = -1 if measured is None else measured
    space = disk.usage(root)
    return HostUsage(memory_total=int(info.get("MemTotal") or 0), cpus=int(info.get("NCPU") or 0),
                     docker_root=root, disk_total=space[0] if space else None,
                     disk_free=space[1] if space else None, volume_sizes=sizes)
