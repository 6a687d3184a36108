"""`deploy` on the Swarm target: validate -> observe the manager (and this machine's images)
-> check against the manager -> plan -> apply, like `converge` for one host.

Images are built here (where the deploy runs) and shipped to every node over SSH through
the manager (`ship.ship_to_swarm`): no registry, and services are pinned by image id, so
no node can run another image under the tag. Secret files are made where the manager is
(never sent from a checkout), and their values handed to Swarm as secrets. Then the
overlay networks, the configs and secrets the services need, the services wave by wave
(a wave starts once the one before converged: tasks running and healthy), and last the
configs and secrets no service uses any more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..console import Say
from ..declaration.model import LABEL_KIND, LABEL_NAME, LABEL_PROJECT, Stack
from ..declaration.problems import InvalidStack, Problem
from ..declaration.validate import check_declaration
from ..engine.backend import Engine, SwarmNode
from ..engine.swarm_backend import SwarmBackend
from ..engine.swarm_engine import swarm_of
from ..errors import OperationError
from ..planning import plan as p
from ..planning import swarm_plan as sp
from ..planning.spec import secret_spec
from ..planning.state import Observed
from ..planning.swarm_checks import check_swarm_engine
from ..planning.swarm_spec import LABEL_PATH, ServiceSpec
from ..planning.swarm_state import SwarmState
from . import history
from .converge import Target, apply
from .local_state import LocalState
from .refusal import refused
from .secrets import LocalSecrets, SecretStore
from .ship import ship_to_swarm
from .swarm_spread import spread
from .swarm_wait import Waiter
from .swarm_workspace import read_config, with_checkout
from .upstreams import HostFiles, LocalFiles
from .workspace import with_workspace

if TYPE_CHECKING:
    from fabric import Connection

ConnectNode = Callable[[SwarmNode], Engine]


@dataclass
class SwarmTarget:
    """Where a Swarm deploy acts besides the manager: the engine that builds (this
    machine's), how other nodes are reached, the manager's secrets and files."""

    build: Engine
    connect: ConnectNode | None = None  # None: no other node can be reached (local)
    secrets: SecretStore = field(default_factory=LocalSecrets)
    files: HostFiles = field(default_factory=LocalFiles)
    logs: Path | None = None
    verbose: bool = False


@dataclass(frozen=True)
class SwarmOutcome:
    plan: sp.SwarmPlan
    applied: bool


def swarm_target(host: Connection | None, manager: Engine, build: Engine, say: Say,
                 verbose: bool = False) -> SwarmTarget:
    if host is None:
        return SwarmTarget(build=build, verbose=verbose)
    from .secrets import HostSecrets
    from .ship import connect_through
    from .upstreams import RemoteFiles

    return SwarmTarget(build=build, connect=connect_through(host, say),
                       secrets=HostSecrets(host), files=RemoteFiles(host), verbose=verbose)


def observe(stack: Stack, manager: Engine, target: SwarmTarget) -> tuple[Observed, SwarmState]:
    """The manager's networks and containers, this machine's images (built here, shipped
    from here), and the Swarm's objects with the checkout's files and secret digests."""
    local = LocalState.load(stack.state_path())
    built = with_workspace(stack, target.build.observe(stack.project, []), local,
                           target.secrets)
    here = built if target.build is manager else manager.observe(stack.project, [])
    observed = replace(here, images=built.images, context_hashes=built.context_hashes,
                       secrets=built.secrets)
    state = with_checkout(stack, swarm_of(manager).observe_swarm(stack.project),
                          target.secrets)
    return observed, state


def checked_swarm_plan(stack: Stack, manager: Engine, options: p.Options,
                       problems: list[Problem], target: SwarmTarget) -> sp.SwarmPlan:
    """Validate, observe, check against the manager (every problem at once), plan."""
    found = [*problems, *check_declaration(stack)]
    if found:
        raise refused(stack, target.build, found)
    observed, state = observe(stack, manager, target)
    found = check_swarm_engine(stack, observed, state, manager.where)
    if found:
        raise InvalidStack(found)
    return sp.make_swarm_plan(stack, observed, state, options)


def swarm_converge(stack: Stack, manager: Engine, options: p.Options, say: Say,
                   target: SwarmTarget, dry: bool = False,
                   problems: list[Problem] | None = None) -> SwarmOutcome:
    if target.logs is None:
        target = replace(target, logs=stack.state_path().parent / "logs" / stack.project)
    plan = checked_swarm_plan(stack, manager, options, problems or [], target)
    if dry:
        return SwarmOutcome(plan, applied=False)
    try:
        if plan.prepare:
            apply(plan.prepare, target.build, say, LocalState.load(stack.state_path()),
                  Target(secrets=target.secrets, logs=target.logs, verbose=target.verbose))
        ship(stack, manager, target, say)
        if plan.prepare:  # now with the images' ids and the secrets' digests
            plan = checked_swarm_plan(stack, manager, options, [], target)
        if plan.actions:
            apply_swarm(plan, stack, swarm_of(manager), target, say)
    except Exception as error:
        history.record_lines(stack, target.files, sp.swarm_summary(plan), _what(plan),
                             f"failed: {str(error).splitlines()[0]}")
        raise
    if plan:
        history.record_lines(stack, target.files, sp.swarm_summary(plan), _what(plan), "ok")
    return SwarmOutcome(plan, applied=bool(plan))


def ship(stack: Stack, manager: Engine, target: SwarmTarget, say: Say) -> None:
    """The stack's images onto every node (those already there are skipped)."""
    tags = sorted({stack.image_tag(s.image) for s in stack.services if stack.image(s.image)})
    if tags:
        ship_to_swarm(target.build, manager, target.connect or _unreachable, tags, say)


def _unreachable(node: SwarmNode) -> Engine:
    raise OperationError(f"node {node.hostname} is reached over SSH through the manager: "
                         "deploy with `fab -H user@manager deploy`")


def apply_swarm(plan: sp.SwarmPlan, stack: Stack, swarm: SwarmBackend, target: SwarmTarget,
                say: Say) -> None:
    for action in plan.of_kind(sp.CREATE_NETWORK):
        assert action.network
        say(f"network {action.target}: creating (overlay, {action.network.subnet})")
        swarm.create_overlay(action.network)
    for action in plan.of_kind(sp.CREATE_CONFIG):
        assert action.config
        config = action.config
        data = config.content.encode() if config.content is not None else read_config(
            stack, config.path)
        say(f"config {action.target}: creating ({action.reason})")
        swarm.create_config(action.target, data, {**_labels(stack, "config", config.path),
                                                  LABEL_PATH: config.path})
    for action in plan.of_kind(sp.CREATE_SWARM_SECRET):
        assert action.secret
        declared = next(s for s in stack.secrets if s.name == action.secret.secret)
        say(f"secret {action.target}: creating from the manager's {action.secret.secret}")
        swarm.create_secret(action.target, target.secrets.read(secret_spec(stack, declared)),
                            _labels(stack, "secret", declared.name))
    _waves(plan, stack, swarm, say)
    for action in plan.of_kind(sp.REMOVE_SERVICE):
        say(f"service {action.target}: removing ({action.reason})")
        swarm.remove_service(action.target)
    for action in plan.of_kind(sp.REMOVE_CONFIG, sp.REMOVE_SWARM_SECRET):
        remove = swarm.remove_config if action.kind == sp.REMOVE_CONFIG else swarm.remove_secret
        kind = "config" if action.kind == sp.REMOVE_CONFIG else "secret"
        if remove(action.target):
            say(f"{kind} {action.target}: removed ({action.reason})")
        else:
            say(f"{kind} {action.target}: still in use, kept")


def _waves(plan: sp.SwarmPlan, stack: Stack, swarm: SwarmBackend, say: Say) -> None:
    """Each wave's services are created or updated together, then waited for."""
    actions = plan.of_kind(*sp.SERVICE_KINDS)
    waiter = Waiter(swarm, say)
    for wave in sorted({a.wave for a in actions}):
        started: list[tuple[ServiceSpec, str]] = []
        for action in (a for a in actions if a.wave == wave):
            spec = action.service
            assert spec is not None
            say(f"service {spec.name}: {action.kind} ({action.reason})")
            before = ""
            if action.kind == sp.UPDATE_SERVICE:
                before = swarm.progress(spec.name).update_started
                swarm.update_service(spec)
            else:
                if action.kind == sp.REPLACE_SERVICE:
                    swarm.remove_service(spec.name)
                swarm.create_service(spec)
            started.append((spec, before))
        for spec, before in started:
            timeout = stack.swarm.converge_timeout * max(1, spec.tasks or 1)
            status = waiter.converged(spec, timeout, before)
            say(f"service {spec.name}: converged, {status}")
            spread(spec, swarm, waiter, say, timeout)


def _labels(stack: Stack, kind: str, name: str) -> dict[str, str]:
    return {LABEL_PROJECT: stack.project, LABEL_KIND: kind, LABEL_NAME: name}


def _what(plan: sp.SwarmPlan) -> list[str]:
    return ([f"{a.kind} {a.target}: {a.reason}" for a in plan.prepare.actions]
            + [f"{a.kind} {a.target}: {a.reason}" for a in plan.actions])
