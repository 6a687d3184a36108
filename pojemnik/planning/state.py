"""What the engine and the checkout report, as plain data: the engine's part recorded
by the Docker boundary's `observe`, the checkout's (build-context hashes, secrets,
config) by `operations.checkout.workspace`.

Validation and planning read only these values, so they are tested with
hand-written or recorded states and no Docker at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ObservedNetwork:
    name: str
    id: str
    subnets: list[str]
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    driver: str = ""  # "bridge", "overlay", ... ("": not reported)


@dataclass(frozen=True)
class ObservedContainer:
    name: str
    id: str
    labels: dict[str, str]
    state: str  # "running", "exited", "created", ...
    image: str = ""
    networks: list[str] = field(default_factory=list)  # engine names it is attached to
    # Its IPv4 address on each of those networks ("" when the engine does not say: no
    # fixed address, and not running).
    addresses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedImage:
    tag: str
    id: str
    labels: dict[str, str] = field(default_factory=dict)
    created: float = 0.0  # seconds since the epoch


@dataclass(frozen=True)
class FilesDiff:
    """The mounted files on a remote host against the checkout (by content digest): what a
    deploy sends, removes (gone from the checkout) and makes (data directories missing)."""

    root: str  # the stack's directory on the host
    send: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    seed: tuple[str, ...] = ()  # writable binds missing on the host: made once, then kept

    def __bool__(self) -> bool:
        return bool(self.send or self.remove or self.seed)

    def reason(self) -> str:
        parts = [f"{len(self.send)} to send" if self.send else "",
                 f"{len(self.remove)} to remove (gone from the checkout)" if self.remove else "",
                 f"{len(self.seed)} data directories to make" if self.seed else ""]
        return "files differ from the checkout: " + ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Observed:
    networks: list[ObservedNetwork] = field(default_factory=list)  # every network on the engine
    containers: list[ObservedContainer] = field(default_factory=list)  # this project's
    images: dict[str, ObservedImage] = field(default_factory=dict)  # by tag
    volumes: list[str] = field(default_factory=list)  # this project's, engine names
    # Host ports (address, port, protocol) that could not be bound, and are not
    # published by this project's own containers.
    busy_ports: list[tuple[str, int, str]] = field(default_factory=list)
    context_hashes: dict[str, str] = field(default_factory=dict)  # image name -> build input hash
    secrets: list[str] = field(default_factory=list)  # declared secrets whose file exists
    config_hashes: dict[str, str] = field(default_factory=dict)  # service -> watched content
    applied_config: dict[str, str] = field(default_factory=dict)  # container id -> reloaded hash
    host_memory: int | None = None  # bytes of memory on the engine's host; None: unknown
    # The mounted files on a remote engine's host; None: the engine reads the checkout.
    files: FilesDiff | None = None
    # Busy ports a pojemnik container publishes -> (its name, its project).
    port_holders: dict[tuple[str, int, str], tuple[str, str]] = field(default_factory=dict)

    def network(self, name: str) -> ObservedNetwork | None:
        return next((n for n in self.networks if n.name == name), None)

    def container(self, name: str) -> ObservedContainer | None:
        return next((c for c in self.containers if c.name == name), None)
