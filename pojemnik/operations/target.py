"""The one object tasks act on a stack through: its target, one host's engine or a Swarm's
manager. Tasks parse, call one method, print; which target a stack has is decided here
(`target_for`), by `Stack.target`, and nowhere above.

Both targets plan in the same order (`checked`) and return the same shapes: a plan
(rendered by the task), a `Deployed`, a `Listing` for `ps`, log lines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..console import Say
from ..declaration.model import Stack
from ..declaration.order import startup_order
from ..declaration.problems import Problem
from ..declaration.swarm import SWARM
from ..engine.backend import Engine
from ..planning import plan as p
from ..planning.swarm.plan import SwarmPlan

if TYPE_CHECKING:
    from fabric import Connection

    from ..engine.swarm.manager import SwarmEngine
    from ..hostfiles.files import HostFiles
    from .swarm.deploy import SwarmSite


@dataclass(frozen=True)
class Deployed:
    """What a deploy did (or, dry or refused, would do): the plan, whether it was carried
    out, and its one-line summary."""

    plan: p.Plan | SwarmPlan
    applied: bool
    summary: str


@dataclass(frozen=True)
class Listing:
    """`ps`: a table for people, records for `--json`."""

    header: list[str]
    rows: list[list[str]]
    records: list[dict[str, Any]]


class Target(Protocol):
    stack: Stack
    engine: Engine  # the engine the task connected to: the host's, or the manager's

    def plan(self, options: p.Options, problems: list[Problem]) -> p.Plan | SwarmPlan:
        """Checked (every problem at once) and planned; changes nothing."""
        ...
    def deploy(self, options: p.Options, problems: list[Problem], dry: bool) -> Deployed: ...
    def ps(self) -> Listing: ...
    def logs(self, container: str, follow: bool, tail: int | str,
             since: float | None = None, timestamps: bool = False) -> Iterator[bytes]: ...
    def down(self, volumes: bool, images: bool = False) -> None: ...
    def close(self) -> None: ...


@dataclass
class HostTarget:
    """One Docker host: this machine, or a server over the task's SSH connection."""

    stack: Stack
    engine: Engine
    say: Say
    host: Connection | None = None
    verbose: bool = False

    def plan(self, options: p.Options, problems: list[Problem]) -> p.Plan:
        from .host.converge import checked_plan
        from .host.deploy import remote_site

        # On a host, the plan's secrets and files are the host's, not the checkout's.
        site = remote_site(self.host, self.stack, self.say, dry=True) if self.host else None
        return checked_plan(self.stack, self.engine, options, problems, site)

    def deploy(self, options: p.Options, problems: list[Problem], dry: bool) -> Deployed:
        from ..planning.render import summary
        from .host.deploy import deploy

        done = deploy(self.stack, self.engine, options, self.say, dry=dry, problems=problems,
                      host=self.host, verbose=self.verbose)
        return Deployed(done.plan, done.applied, summary(done.plan))

    def ps(self) -> Listing:
        rows = self.engine.project_containers(self.stack.project)
        return Listing(["NAME", "SERVICE", "IMAGE", "STATUS", "PORTS"],
                       [[r.name, r.service, r.image, r.status, r.ports] for r in rows],
                       [asdict(r) for r in rows])

    def logs(self, container: str, follow: bool, tail: int | str,
             since: float | None = None, timestamps: bool = False) -> Iterator[bytes]:
        return self.engine.logs(container, follow, tail, since, timestamps)

    def down(self, volumes: bool, images: bool = False) -> None:
        """`images`: also the project's own images, and the releases they were."""
        from .host.teardown import down
        from .images.remove import forget_gone_releases, remove_images

        down(self.engine, self.stack.project, self.say, volumes=volumes,
             order=startup_order(self.stack))
        if images:
            remove_images(self.engine, self.stack.project, self.say)
            forget_gone_releases(self.stack, self.engine, self.files(), self.say)

    def files(self) -> HostFiles:
        """Where the host's records are: this machine's, or the server's over SSH."""
        from ..hostfiles.files import LocalFiles, RemoteFiles

        return RemoteFiles(self.host) if self.host else LocalFiles()

    def close(self) -> None:
        """The task closes the engine it connected to."""


@dataclass
class SwarmTarget:
    """A Docker Swarm, through a manager's engine. Images are built with this machine's
    engine (`build`, connected only when a plan needs the checkout's images)."""

    stack: Stack
    engine: Engine  # the manager's
    say: Say
    host: Connection | None = None
    build: Callable[[], Engine] | None = None  # None: the manager's engine is this machine's
    verbose: bool = False
    _site: SwarmSite | None = field(default=None, init=False)

    def plan(self, options: p.Options, problems: list[Problem]) -> SwarmPlan:
        from .swarm.deploy import checked_swarm_plan

        return checked_swarm_plan(self.stack, self.engine, options, problems, self.site())

    def deploy(self, options: p.Options, problems: list[Problem], dry: bool) -> Deployed:
        from ..planning.swarm.plan import swarm_summary
        from .swarm.deploy import swarm_converge

        done = swarm_converge(self.stack, self.engine, options, self.say, self.site(),
                              dry=dry, problems=problems)
        return Deployed(done.plan, done.applied, swarm_summary(done.plan))

    def ps(self) -> Listing:
        """The services, how many tasks run of those meant to, on which nodes, the update."""
        services = self.swarm().project_services(self.stack.project)
        rows = []
        for service in services:
            current = service.current()
            running = sorted(t.node for t in current if t.state == "running")
            rows.append([service.name, f"{len(running)}/{len(current)}",
                         ", ".join(running) or "-", service.update_state or "-",
                         service.image.removeprefix("sha256:")[:12]])
        return Listing(["SERVICE", "RUNNING", "NODES", "UPDATE", "IMAGE"], rows,
                       [asdict(s) for s in services])

    def logs(self, container: str, follow: bool, tail: int | str,
             since: float | None = None, timestamps: bool = False) -> Iterator[bytes]:
        """`docker service logs`: every task's lines, on whichever node it runs."""
        return self.swarm().logs(container, follow, tail, since, timestamps)

    def down(self, volumes: bool, images: bool = False) -> None:
        from ..errors import OperationError
        from .swarm.teardown import swarm_down

        if images:  # refused before anything is removed
            raise OperationError(f"down --images: {self.stack.source} declares target swarm, "
                                 "whose images are on every node; remove them there (`docker "
                                 "image rm`), or run `down` without --images")

        swarm_down(self.engine, self.swarm(), self.stack.project, self.say,
                   startup_order(self.stack), volumes=volumes)

    def swarm(self) -> SwarmEngine:
        from ..engine.swarm.manager import swarm_of

        return swarm_of(self.engine)

    def site(self) -> SwarmSite:
        from .swarm.deploy import swarm_site

        if self._site is None:
            build = self.build() if self.build is not None else self.engine
            self._site = swarm_site(self.host, self.engine, build, self.say, self.verbose)
        return self._site

    def close(self) -> None:
        """The engine that built (when it is not the manager's) is this target's to close."""
        if self._site is not None and self._site.build is not self.engine:
            self._site.build.close()


def target_for(stack: Stack, engine: Engine, say: Say, host: Connection | None = None,
               build: Callable[[], Engine] | None = None, verbose: bool = False,
               one_host: bool = False) -> HostTarget | SwarmTarget:
    """The stack's target on `engine`. `one_host`: tasks that act on that engine only
    (`images.build` builds on the manager's engine too)."""
    if stack.target == SWARM and not one_host:
        return SwarmTarget(stack, engine, say, host, build if host else None, verbose)
    return HostTarget(stack, engine, say, host, verbose)
