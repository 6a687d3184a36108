"""`deploy` on the Swarm target: validate -> observe the manager (and this machine's images)
-> check against the manager -> plan -> apply, like `converge` for one host.

Images are built here (where the deploy runs) and pushed to every node over SSH through
the manager (`images.every_node`): no registry, and services are pinned by image id, so no
node can run another image under the tag. Secret files are made where the manager is
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

from ...console import Say
from ...declaration.model import LABEL_KIND, LABEL_NAME, LABEL_PROJECT, Stack
from ...declaration.problems import Problem
from ...engine.backend import Engine, SwarmNode
from ...engine.swarm.backend import SwarmBackend
from ...engine.swarm.manager import swarm_of
from ...errors import OperationError
from ...hostfiles.files import HostFiles, LocalFiles
from ...hostfiles.local_state import LocalState
from ...hostfiles.secrets import LocalSecrets, SecretStore
from ...planning import plan as p
from ...planning.spec import secret_spec
from ...planning.state import Observed
from ...planning.swarm import plan as sp
from ...planning.swarm.checks import check_swarm_engine
from ...planning.swarm.spec import LABEL_PATH, ServiceSpec
from ...planning.swarm.state import SwarmState
from ..checked import check_declared, checked
from ..checkout.workspace import with_workspace
from ..host.converge import HostSite, apply
from ..images.every_node import push_to_nodes
from ..records import history
from ._spread import spread
from ._wait import Waiter
from ._workspace import read_config, with_checkout

if TYPE_CHECKING:
    from fabric import Connection

ConnectNode = Callable[[SwarmNode], Engine]


@dataclass
class SwarmSite:
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


def swarm_site(host: Connection | None, manager: Engine, build: Engine, say: Say,
                 verbose: bool = False) -> SwarmSite:
    if host is None:
        return SwarmSite(build=build, verbose=verbose)
    from ...hostfiles.files import RemoteFiles
    from ...hostfiles.secrets import HostSecrets
    from ..images.every_node import connect_through

    return SwarmSite(build=build, connect=connect_through(host, say),
                       secrets=HostSecrets(host), files=RemoteFiles(host), verbose=verbose)


def observe(stack: Stack, manager: Engine, site: SwarmSite) -> tuple[Observed, SwarmState]:
    """The manager's networks and containers, this machine's images (built here, pushed
    from here), and the Swarm's objects with the checkout's files and secret digests."""
    local = LocalState.load(stack.state_path())
    built = with_workspace(stack, site.build.observe(stack.project, []), local,
                           site.secrets)
    here = built if site.build is manager else manager.observe(stack.project, [])
    observed = replace(here, images=built.images, context_hashes=built.context_hashes,
                       secrets=built.secrets)
    state = with_checkout(stack, swarm_of(manager).observe_swarm(stack.project),
                          site.secrets)
    return observed, state


def checked_swarm_plan(stack: Stack, manager: Engine, options: p.Options,
                       problems: list[Problem], site: SwarmSite) -> sp.SwarmPlan:
    """Validate, observe, check against the manager (every problem at once), plan."""
    check_declared(stack, problems, images=site.build)
    return _planned(stack, manager, options, site)


def _planned(stack: Stack, manager: Engine, options: p.Options,
             site: SwarmSite) -> sp.SwarmPlan:
    """After `check_declared`: observe, check against the manager, plan."""
    return checked(lambda: observe(stack, manager, site),
                   lambda seen: check_swarm_engine(stack, *seen, manager.where),
                   lambda seen: sp.make_swarm_plan(stack, *seen, options))[0]


def swarm_converge(stack: Stack, manager: Engine, options: p.Options, say: Say,
                   site: SwarmSite, dry: bool = False,
                   problems: list[Problem] | None = None) -> SwarmOutcome:
    if site.logs is None:
        site = replace(site, logs=stack.state_path().parent / "logs" / stack.project)
    plan = checked_swarm_plan(stack, manager, options, problems or [], site)
    if dry:
        return SwarmOutcome(plan, applied=False)
    try:
        if plan.prepare:
            apply(plan.prepare, site.build, say, LocalState.load(stack.state_path()),
                  HostSite(secrets=site.secrets, logs=site.logs, verbose=site.verbose))
        push_to_every_node(stack, manager, site, say)
        if plan.prepare:  # now with the images' ids and the secrets' digests
            plan = _planned(stack, manager, options, site)
        if plan.actions:
            apply_swarm(plan, stack, swarm_of(manager), site, say)
    except Exception as error:
        history.record_lines(stack, site.files, sp.swarm_summary(plan), _what(plan),
                             f"failed: {str(error).splitlines()[0]}")
        raise
    if plan:
        history.record_lines(stack, site.files, sp.swarm_summary(plan), _what(plan), "ok")
    return SwarmOutcome(plan, applied=bool(plan))


def push_to_every_node(stack: Stack, manager: Engine, site: SwarmSite, say: Say) -> None:
    """The stack's images onto every node (those already there are skipped)."""
    tags = sorted({stack.image_tag(s.image) for s in stack.services if stack.image(s.image)})
    if tags:
        push_to_nodes(site.build, manager, site.connect or _unreachable, tags, say)


def _unreachable(node: SwarmNode) -> Engine:
    raise OperationError(f"node {node.hostname} is reached over SSH through the manager: "
                         "deploy with `fab -H user@manager deploy`")


def apply_swarm(plan: sp.SwarmPlan, stack: Stack, swarm: SwarmBackend, site: SwarmSite,
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
        swarm.create_secret(action.target, site.secrets.read(secret_spec(stack, declared)),
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
