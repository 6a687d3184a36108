"""What a Swarm manager reports, and the checkout's part the Swarm plan needs, as plain
data: recorded by the engine's `observe_swarm` and `operations.swarm._workspace`, read by
the pure Swarm checks and planner (tested with hand-written states)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..state import ObservedNetwork


@dataclass(frozen=True)
class ObservedNode:
    id: str
    hostname: str
    role: str  # "manager" | "worker"
    availability: str  # "active" | "pause" | "drain"
    state: str  # "ready" | "down" | ...
    labels: dict[str, str] = field(default_factory=dict)  # node labels (docker node update)
    engine_labels: dict[str, str] = field(default_factory=dict)
    os: str = "linux"
    arch: str = "x86_64"
    address: str = ""

    @property
    def usable(self) -> bool:
        """Whether the scheduler may put new tasks on it."""
        return self.availability == "active" and self.state == "ready"


@dataclass(frozen=True)
class ObservedService:
    """One of the project's services: its labels (the spec-hash), and the names (never the
    values) of what an update may have to remove, for the printed plan."""

    name: str
    id: str
    labels: dict[str, str]
    image: str = ""
    env_names: list[str] = field(default_factory=list)
    configs: list[str] = field(default_factory=list)  # config names it mounts
    secrets: list[str] = field(default_factory=list)  # secret names it mounts
    mounts: list[str] = field(default_factory=list)  # volume, bind and tmpfs targets
    constraints: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)  # network names
    ports: list[str] = field(default_factory=list)  # "published:target/protocol"
    update_state: str = ""  # "updating", "completed", "rollback_completed", ...
    update_message: str = ""


@dataclass(frozen=True)
class ConfigFile:
    """A file under a read-only bind mount, from the checkout."""

    path: str  # repository path: config/nginx/nginx.conf
    digest: str  # sha256 of the content
    size: int
    executable: bool = False


@dataclass(frozen=True)
class SwarmState:
    node_id: str = ""  # the node whose engine we talk to; "": not part of a swarm
    manager: bool = False
    nodes: list[ObservedNode] = field(default_factory=list)
    services: list[ObservedService] = field(default_factory=list)  # this project's
    configs: list[str] = field(default_factory=list)  # this project's config names
    secrets: list[str] = field(default_factory=list)  # this project's secret names
    networks: list[ObservedNetwork] = field(default_factory=list)  # every network, drivers
    # The checkout's side:
    files: dict[str, ConfigFile] = field(default_factory=dict)  # repository path -> file
    secret_digests: dict[str, str] = field(default_factory=dict)  # secret -> sha256 of value

    def service(self, name: str) -> ObservedService | None:
        return next((s for s in self.services if s.name == name), None)

    def network(self, name: str) -> ObservedNetwork | None:
        return next((n for n in self.networks if n.name == name), None)

    def node(self, node_id: str) -> ObservedNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)
