"""What pojemnik asks of a Swarm manager, as a typed interface (like `backend.Engine`
for one engine): observe the project's Swarm objects, create and update them, and read
how a service's tasks are doing. `manager.SwarmEngine` implements it with the
Docker SDK's services, configs, secrets, networks and nodes APIs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ...planning.spec import NetworkSpec
from ...planning.swarm.spec import ServiceSpec
from ...planning.swarm.state import ObservedNode, SwarmState


@dataclass(frozen=True)
class TaskRow:
    id: str
    node: str  # hostname ("" before it is scheduled)
    desired: str  # "running", "shutdown", ...
    state: str  # "new", "pending", "starting", "running", "failed", "rejected", ...
    message: str = ""
    error: str = ""  # why it failed: "task: non-zero exit (1)", "No such image: ..."
    image: str = ""
    up_to_date: bool = True  # made from the service's current spec (as Swarm compares)


@dataclass(frozen=True)
class ServiceProgress:
    """A service as its tasks and update show it, for waiting until it converged."""

    name: str
    update_state: str = ""  # "", "updating", "completed", "paused", "rollback_*"
    update_message: str = ""
    update_started: str = ""  # when the last update started (changes with each one)
    tasks: list[TaskRow] = field(default_factory=list)  # newest first
    image: str = ""  # what the spec says the tasks run

    def current(self) -> list[TaskRow]:
        """Tasks meant to run now."""
        return [t for t in self.tasks if t.desired == "running"]


class SwarmBackend(Protocol):
    where: str

    def observe_swarm(self, project: str) -> SwarmState:
        """The manager's part: nodes, this project's services, configs, secrets, and every
        network with its driver. A worker or a lone engine reports only what it is."""
        ...

    def create_overlay(self, spec: NetworkSpec) -> None: ...
    def create_config(self, name: str, data: bytes, labels: dict[str, str]) -> None: ...
    def create_secret(self, name: str, data: bytes, labels: dict[str, str]) -> None: ...
    def remove_config(self, name: str) -> bool:
        """False when a service still uses it (kept)."""
        ...

    def remove_secret(self, name: str) -> bool: ...
    def create_service(self, spec: ServiceSpec) -> None: ...
    def update_service(self, spec: ServiceSpec) -> None: ...
    def remove_service(self, name: str) -> None: ...
    def progress(self, name: str) -> ServiceProgress: ...
    def nodes(self) -> list[ObservedNode]: ...
    def project_services(self, project: str) -> list[ServiceProgress]: ...
