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

from ..planning.project_images import StoredImage
from ..planning.spec import ContainerSpec, ImageSpec, NetworkSpec
from ..planning.state import Observed
from .session import Session

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
class LockHolder:
    """Who holds (or asks for) a project's lock on an engine."""

    who: str  # user@hostname of the machine running the task
    pid: int
    command: str  # e.g. "invoke deploy"
    since: str  # when it was taken, e.g. "2026-11-27 12:00:00 UTC"
    state: str = "running"  # the lock container's state, as the engine reports it
    silent: float | None = None  # seconds since the holder was last heard from


class Exits(Protocol):
    def wait(self, name: str, timeout: float) -> bool:
        """True once the container `name` has exited; False after `timeout` seconds."""
        ...

    def close(self) -> None: ...


class Lock(Protocol):
    """A held lock: `release` never raises (the engine removes the lock of a holder that
    ended anyway)."""

    def release(self) -> None: ...


@dataclass(frozen=True)
class ContainerUsage:
    """One container as it runs: from its inspection and one stats sample."""

    name: str
    service: str
    state: str  # running, exited, restarting, created, ...
    health: str | None  # healthy, unhealthy, starting, "healthy (probed)"; None: none
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


@dataclass(frozen=True)
class SwarmNode:
    """One node of the Swarm, as a manager's engine lists it (`docker node ls`)."""

    id: str
    hostname: str
    address: str  # how the managers reach it (its Swarm address), e.g. 10.0.0.5
    role: str  # manager, worker
    availability: str  # active, pause, drain
    state: str  # ready, down, unknown, disconnected
    labels: dict[str, str]
    current: bool = False  # the node whose engine was asked (e.g. the manager of `fab -H`)


@dataclass(frozen=True)
class SwarmSettings:
    """Cluster-wide settings a manager reports (`docker info`, Swarm.Cluster)."""

    heartbeat: float = 5.0  # seconds between a node's heartbeats to the managers
    data_path_port: int = 4789  # the overlay networks' VXLAN port (udp)


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

    def nodes(self) -> list[SwarmNode]:
        """The Swarm's nodes, by hostname; DockerError saying so if this engine is not a
        Swarm manager."""
        ...

    def swarm_settings(self) -> SwarmSettings:
        """The heartbeat period and data path port (a manager's engine)."""
        ...

    # images
    def build(self, spec: ImageSpec, on_line: Callable[[str], None],
              nocache: bool = False) -> str:
        """Build the image; the builder's output goes to `on_line`; returns its id."""
        ...
    def pull(self, ref: str) -> None: ...
    def import_rootfs(self, tarball: Path, ref: str, changes: list[str]) -> str: ...
    def tag_image(self, image: str, ref: str) -> None:
        """Another tag (`repository:tag`) for an image (its id or a tag)."""
        ...

    def remove_tag(self, ref: str) -> bool:
        """Untag; an image loses its last tag only when no container uses it (False)."""
        ...

    def stored_images(self) -> list[StoredImage]:
        """Every image on the engine (not build steps): id, tags, labels, size."""
        ...

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
    def remove_container(self, name: str) -> None:
        """Stop gracefully (the container's own stop signal and grace period), remove."""
        ...

    def stop(self, name: str) -> None:
        """`docker stop` with the container's own stop signal and grace period."""
        ...

    def watch_exits(self, project: str) -> Exits:
        """From now on, which of the project's containers have exited (processes ended)."""
        ...

    def rename(self, name: str, new_name: str) -> None: ...
    def container_id(self, name: str) -> str: ...
    def addresses(self, name: str) -> dict[str, str] | None:
        """Network (engine name) -> the container's address; None: no such container."""
        ...

    def state(self, name: str) -> str | None:
        """"running", "exited", ...; None: no such container."""
        ...

    def processes(self, name: str) -> set[str]:
        """The container's process ids (`docker top`)."""
        ...

    def wait_ready(self, name: str, timeout: float) -> str:
        """Until the container's health command passes ("healthy") or, with none, it runs
        ("running (no healthcheck)"); raises DockerError with its logs and probe output."""
        ...

    def logs(self, name: str, follow: bool, tail: int | str,
             since: float | None = None, timestamps: bool = False) -> Iterator[bytes]:
        """`docker logs`: the last `tail` lines, only those after `since` (seconds since
        the epoch) if given; `timestamps`: each line starts with Docker's RFC 3339 stamp."""
        ...
    def exec(self, name: str, command: list[str]) -> tuple[int, str]: ...
    def exec_stream(self, name: str, command: list[str], stdin: Iterable[bytes],
                    output: Callable[[bytes], None]) -> tuple[int, str]:
        """`docker exec -i`: `stdin` streamed in, standard output handed to `output` as
        it comes (never all in memory); returns the exit code and standard error."""
        ...

    def run_once(self, spec: ContainerSpec, session: Session) -> int:
        """A new container from `spec` attached to `session`, removed after (also on
        Ctrl-C); the command's exit code."""
        ...

    def exec_live(self, name: str, command: list[str], session: Session) -> int: ...

    # the project's lock: one task at a time changes a project on an engine
    def take_lock(self, project: str, image: str, holder: LockHolder,
                  cluster: bool = False) -> Lock | LockHolder:
        """Hold the project's lock (until `release`, or until this process or its
        connection dies, or it falls silent), or return who holds it. `image` must be
        present: it runs `cat`. `cluster`: the engine is a Swarm manager, and the lock
        covers every manager of its Swarm."""
        ...

    def lock_holder(self, project: str, cluster: bool = False) -> LockHolder | None: ...

    def break_lock(self, project: str, cluster: bool = False) -> LockHolder | None:
        """Remove the lock, whoever holds it; returns who did (None: it was free)."""
        ...

    def close(self) -> None: ...
