"""What pojemnik asks of a container engine, as a typed interface.

`DockerEngine` (one Docker engine, local or over SSH) implements it; a Docker Swarm
backend is the next. Everything above the boundary is written against `Engine`, and
never sees the Docker SDK: its errors arrive as `errors.DockerError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..console import Say
from ..planning.spec import ContainerSpec, ImageSpec, NetworkSpec
from ..planning.state import Observed

HostPort = tuple[str, int, str]  # address, port, protocol


@dataclass(frozen=True)
class ContainerRow:
    name: str
    service: str
    image: str
    state: str
    status: str
    ports: str


@dataclass(frozen=True)
class ImageRow:
    tags: list[str]
    id: str
    size: int  # bytes
    created: int  # seconds since the epoch


@dataclass(frozen=True)
class ContainerUsage:
    """One container as it runs: from its inspection and one stats sample."""

    name: str
    service: str
    state: str  # running, exited, restarting, created, ...
    health: str | None  # healthy, unhealthy, starting; None: no healthcheck
    restarts: int  # RestartCount
    started_at: float | None  # seconds since the epoch, while running
    memory_used: int | None  # bytes (page cache not counted, as `docker stats`)
    memory_limit: int | None  # bytes; None: no limit
    cpu_percent: float | None  # of one CPU, as `docker stats`


@dataclass(frozen=True)
class HostUsage:
    """The engine's host: its memory, the disk under Docker's root dir, and the sizes of
    one project's volumes."""

    memory_total: int  # bytes
    cpus: int
    docker_root: str
    disk_total: int | None  # bytes; None: unknown
    disk_free: int | None
    volume_sizes: dict[str, int]  # engine volume name -> bytes (-1: not measured)


class Engine(Protocol):
    """The engine a stack runs on. Names are engine names (`<project>-<name>`)."""

    where: str  # "local" or user@host:port, for messages

    # observe
    def observe(self, project: str, ports: Sequence[HostPort]) -> Observed:
        """Networks (all), this project's containers and volumes, images by tag, and which
        of `ports` are taken by something else. Only the engine's part of `Observed`."""
        ...

    def image_ids(self) -> dict[str, str]: ...
    def list_images(self, tags: Iterable[str]) -> list[ImageRow]: ...
    def project_containers(self, project: str) -> list[ContainerRow]: ...
    def container_usage(self, project: str) -> list[ContainerUsage]:
        """This project's containers: state, health, restarts, memory and CPU."""
        ...

    def host_usage(self, project: str) -> HostUsage: ...

    # images
    def build(self, spec: ImageSpec, say: Say, nocache: bool = False) -> str: ...
    def pull(self, ref: str) -> None: ...
    def import_rootfs(self, tarball: Path, ref: str, changes: list[str]) -> str: ...
    def save_image(self, tag: str) -> Iterator[bytes]: ...
    def load_image(self, chunks: Iterable[bytes]) -> None: ...

    # networks and volumes
    def create_network(self, spec: NetworkSpec) -> None: ...
    def remove_network(self, name: str) -> None: ...
    def remove_networks(self, project: str) -> list[str]: ...
    def create_volume(self, name: str, labels: dict[str, str]) -> None: ...
    def remove_volumes(self, project: str) -> list[str]: ...

    # containers
    def create_container(self, spec: ContainerSpec) -> str: ...
    def start(self, name: str) -> None: ...
    def remove_container(self, name: str) -> None: ...
    def container_id(self, name: str) -> str: ...
    def wait_healthy(self, name: str, timeout: float = 180.0) -> None: ...
    def logs(self, name: str, follow: bool, tail: int | str,
             since: float | None = None) -> Iterator[bytes]:
        """`docker logs`: the last `tail` lines, only those after `since` (seconds since
        the epoch) if given."""
        ...
    def exec(self, name: str, command: list[str]) -> tuple[int, str]: ...
    def exec_stream(self, name: str, command: list[str], stdin: Iterable[bytes],
                    output: Callable[[bytes], None]) -> tuple[int, str]:
        """`docker exec -i`: `stdin` streamed in, standard output handed to `output` as
        it comes (never all in memory); returns the exit code and standard error."""
        ...

    def close(self) -> None: ...
