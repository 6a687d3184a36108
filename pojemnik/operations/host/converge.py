"""Carry out a plan through the engine: the imperative shell around the pure core.

`converge` is the whole of `invoke deploy`: validate the declaration -> observe ->
validate against the engine -> plan -> apply. Nothing is changed unless validation
passed. Volumes are never removed here, so a failure halfway loses no data, and running
again picks up where it stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from ...console import Say
from ...declaration.model import LABEL_CONFIG_HASH, Stack
from ...declaration.problems import Problem
from ...engine.backend import Engine
from ...errors import OperationError
from ...hostfiles.files import HostFiles, LocalFiles
from ...hostfiles.local_state import LocalState
from ...hostfiles.secrets import LocalSecrets, SecretStore
from ...planning import plan as p
from ...planning.checks import check_against_engine
from ...planning.state import FilesDiff, Observed, ObservedImage
from ..checked import check_declared, checked
from ..checkout.workspace import context_hashes, with_workspace
from ..images.base import ensure_base
from ..images.build import build_images
from ..maintenance.switch import ReleaseMaintenance
from ..oneoff.release import run_release
from ..records import history, release_runs, releases
from ..records.release_runs import ReleaseRun
from ._reload import ConfigRejected, ReloadFailed, check_config, reload_service
from ._update import recover, start_first, stop_first
from .switchboard import Switchboard

WAVE_WORKERS = 4  # containers started at once (each probes its health command)
__all__ = ["ConfigRejected", "HostSite", "Outcome", "apply", "checked_plan", "converge"]


@dataclass(frozen=True)
class Outcome:
    plan: p.Plan
    applied: bool


class Shipment(Protocol):
    """Mounted files delivered where the engine is (a remote host's stack directory)."""

    def diff(self) -> FilesDiff:
        """What `ship` would send, remove and make (read only)."""
        ...
    def ship(self) -> None: ...
    def restore(self) -> bool:
        """Put back the files the last `ship` replaced or removed (after a failed reload);
        False: it had changed none."""
        ...


@dataclass
class HostSite:
    """The host a single-host deploy acts on beyond its engine: its secrets, its files, the
    mounted files shipped there (this machine by default)."""

    secrets: SecretStore = field(default_factory=LocalSecrets)
    shipment: Shipment | None = None
    logs: Path | None = None  # build logs; default .pojemnik/logs/<project>/ in the checkout
    verbose: bool = False  # the builders' whole output, as it comes
    files: HostFiles = field(default_factory=LocalFiles)  # the proxies' upstream files


def observe(stack: Stack, engine: Engine, state: LocalState, site: HostSite) -> Observed:
    ports = [(port.address, port.host, port.protocol)
             for service in stack.services for port in service.ports]
    observed = with_workspace(stack, engine.observe(stack.project, ports), state, site.secrets)
    if site.shipment is None:
        return observed
    return replace(observed, files=site.shipment.diff())


def checked_plan(stack: Stack, engine: Engine, options: p.Options,
                 extra_problems: list[Problem] | None = None,
                 site: HostSite | None = None) -> p.Plan:
    """Validate, observe, validate against the engine (raising every problem at once),
    plan. Changes nothing."""
    check_declared(stack, extra_problems or [], _images_only(options), engine)
    state = LocalState.load(stack.state_path())
    return _planned(stack, engine, options, state, site or HostSite())[0]


def _planned(stack: Stack, engine: Engine, options: p.Options, state: LocalState,
             site: HostSite) -> tuple[p.Plan, Observed]:
    """After `check_declared`: observe, check against the engine, plan."""
    return checked(lambda: observe(stack, engine, state, site),
                   lambda seen: check_against_engine(stack, seen, _images_only(options),
                                                     options.recreate_networks),
                   lambda seen: p.make_plan(stack, seen, options))


def _images_only(options: p.Options) -> bool:
    return options.only_services == frozenset()


def converge(stack: Stack, engine: Engine, options: p.Options, say: Say,
             dry: bool = False, extra_problems: list[Problem] | None = None,
             site: HostSite | None = None) -> Outcome:
    site = site or HostSite()
    if site.logs is None:
        site = replace(site, logs=stack.state_path().parent / "logs" / stack.project)
    state = LocalState.load(stack.state_path())
    # Pure checks first: a deploy refused (a bad `.env`) runs without the lock, so it must
    # not touch the engine (recover could rename another deploy's `-next` mid-update).
    check_declared(stack, extra_problems or [], _images_only(options), engine)
    if not dry:
        recover(engine, stack.project, say)
    plan, observed = _planned(stack, engine, options, state, site)
    if dry or not plan:
        return Outcome(plan, applied=False)
    if plan.of_kind(p.BUILD_BASE):
        # The base image's id is part of every image's build hash: plan again with it.
        base_id = ensure_base(engine, stack.base_image, say)
        observed = replace(observed, context_hashes=context_hashes(stack, base_id),
                           images={**observed.images, stack.base_image: _base(stack, base_id)})
        plan = p.make_plan(stack, observed, options)
    done: list[p.Action] = []  # containers made and ready: each a release to keep
    runs: list[ReleaseRun] = []  # release commands run, for `rollback` to show
    try:
        apply(plan, engine, say, state, site, done, runs)
    except Exception as error:
        release_runs.save(stack, site.files, runs, say)
        releases.remember(stack, engine, site.files, done, say, failed=plan)
        history.record(stack, site.files, plan, f"failed: {str(error).splitlines()[0]}",
                       error=error, done=done)
        raise
    release_runs.save(stack, site.files, runs, say)
    releases.remember(stack, engine, site.files, done, say)
    history.record(stack, site.files, plan, "ok")
    return Outcome(plan, applied=True)


def create_networks(stack: Stack, engine: Engine, say: Say,
                    extra_problems: list[Problem] | None = None) -> None:
    """Just the networks of a deploy (`networks.create`), checked the same way."""
    plan = checked_plan(stack, engine, p.Options(build=False), extra_problems)
    apply(plan.only(p.CREATE_NETWORK), engine, say, LocalState.load(stack.state_path()),
          HostSite())


def _base(stack: Stack, image_id: str) -> ObservedImage:
    return ObservedImage(stack.base_image, image_id)


def apply(plan: p.Plan, engine: Engine, say: Say, state: LocalState, site: HostSite,
          done: list[p.Action] | None = None, runs: list[ReleaseRun] | None = None) -> None:
    """Secrets are made where the engine is; a remote host gets its mounted files once
    they exist and before any container that mounts them starts. `done` receives the
    container actions as their wave is ready."""
    for action in plan.of_kind(p.BUILD_BASE):
        ensure_base(engine, action.target, say)
    builds = [(a.image, a.fresh) for a in plan.of_kind(p.BUILD) if a.image]
    if builds:
        build_images(engine, builds, say, site.logs or Path(".pojemnik/logs"),
                     site.verbose)
    for action in plan.of_kind(p.RECREATE_NETWORK):
        assert action.network
        say(f"network {action.target}: recreating ({action.reason}); its containers go "
            "first, volumes stay")
        engine.remove_network(action.target)
        engine.create_network(action.network)
    for action in plan.of_kind(p.CREATE_NETWORK):
        assert action.network
        say(f"network {action.target}: creating ({action.network.subnet})")
        engine.create_network(action.network)
    for action in plan.of_kind(p.CREATE_VOLUME):
        say(f"volume {action.target}: creating")
        engine.create_volume(action.target, action.labels)
    for action in plan.of_kind(p.CREATE_SECRET):
        assert action.secret
        site.secrets.create(action.secret, say)
    if site.shipment is not None and plan.of_kind(p.SHIP_FILES):
        site.shipment.ship()
    gate = ReleaseMaintenance(plan.proxies, engine, site.files, say).during
    board = Switchboard(plan.proxies, engine, site.files, say, release_gate=gate,
                        release_runs=runs)
    if plan.of_kind(p.CREATE, p.RECREATE, p.START, p.REMOVE_ORPHAN):
        board.sync()  # before a stray replacement goes: the proxy must not point at it
    for action in plan.of_kind(p.REMOVE_ORPHAN):
        say(f"container {action.target}: removing ({action.reason})")
        engine.remove_container(action.target)
    try:
        _containers(plan, engine, say, state, board, [] if done is None else done)
    except (ConfigRejected, ReloadFailed) as error:
        # The host must not keep a config that a restart (OOM kill, reboot) would load.
        if site.shipment is not None and site.shipment.restore():
            say("files: the last good config is back on the host")
            if isinstance(error, ReloadFailed):
                _reload_restored(engine, error, say)
        raise


def _reload_restored(engine: Engine, failed: ReloadFailed, say: Say) -> None:
    """The service may have loaded part of the new config, or nothing: load the restored
    one, so what runs is what the host holds. Said, never raised: the deploy fails anyway."""
    try:
        reload_service(engine, failed.container, failed.reload, say)
        say(f"container {failed.container}: the last good config reloaded")
    except OperationError as error:
        say(f"container {failed.container}: reloading the last good config failed too: "
            f"{str(error).splitlines()[0]} (restart it: the host holds the last good config)")


def _containers(plan: p.Plan, engine: Engine, say: Say, state: LocalState,
                board: Switchboard, done: list[p.Action]) -> None:
    """Wave by wave, each as soon as the one before is ready; inside a wave, a container
    starts once those it needs started have (`Started`). After each wave the proxies'
    upstreams follow where their services now run."""
    actions = plan.of_kind(p.CREATE, p.RECREATE, p.START, p.RELOAD)
    for wave in sorted({a.wave for a in actions}):
        # In plan order, so each container is submitted after those it waits for: a
        # worker never waits for one still queued behind it.
        batch = [a for a in actions if a.wave == wave]
        started = StartedSignals(a.target for a in batch)
        with ThreadPoolExecutor(max_workers=max(1, min(len(batch), WAVE_WORKERS))) as pool:
            for future in [pool.submit(_one_container, a, engine, say, board, done, started)
                           for a in batch]:
                future.result()
        board.sync()
        # Remember which config each (re)loaded container runs, once the wave is healthy.
        for action in batch:
            config = action.container.labels.get(LABEL_CONFIG_HASH) if action.container else None
            if config:
                state.record_config(engine.container_id(action.target), config)


class StartedSignals:
    """When each container of a wave has started (or failed to), for those waiting on it."""

    def __init__(self, names: Iterable[str]) -> None:
        self.events = {name: threading.Event() for name in names}
        self.failed: set[str] = set()

    def wait_for(self, names: Iterable[str], waiter: str) -> None:
        for name in names:
            event = self.events.get(name)  # not in this wave: started before it
            if event is None:
                continue
            event.wait()
            if name in self.failed:
                raise OperationError(f"{waiter}: not started, {name} did not start")

    def mark(self, name: str, ok: bool = True) -> None:
        """Started (again: no change), or failed before it could start."""
        if not ok and not self.events[name].is_set():
            self.failed.add(name)
        self.events[name].set()


def _one_container(action: p.Action, engine: Engine, say: Say, board: Switchboard,
                   done: list[p.Action], started: StartedSignals) -> None:
    ok = False
    try:
        started.wait_for(action.after, action.target)
        _start_and_wait(action, engine, say, board, done, started)
        ok = True
    finally:
        started.mark(action.target, ok)  # a failure must not leave a dependent waiting


def _start_and_wait(action: p.Action, engine: Engine, say: Say, board: Switchboard,
                    done: list[p.Action], started: StartedSignals) -> None:
    say(f"container {action.target}: {action.kind} ({action.reason})")
    assert action.container
    if action.kind == p.RELOAD:
        reload_config(engine, action, say, board)
        say(f"container {action.target}: config reloaded")
        return
    # Before any of the new version runs:
    run_release(action, engine, say, board.release_gate, board.release_runs)
    if action.start_first:
        status = start_first(action, engine, say, board)
        done.append(action)  # (list.append is atomic: the wave's threads share it)
        say(f"container {action.target}: replaced, {status}")
        return
    if action.kind == p.START:
        engine.start(action.target)
    elif action.kind == p.RECREATE:
        stop_first(action, engine, say)
    else:
        engine.create_container(action.container)
    started.mark(action.target)  # those needing it only started go now
    status = engine.wait_ready(action.target, action.container.ready_timeout)
    done.append(action)
    say(f"container {action.target}: {status}")


def reload_config(engine: Engine, action: p.Action, say: Say,
                  board: Switchboard | None = None) -> None:
    """Check the new config inside the running container, run the release command, then
    reload it gracefully. A failed check leaves the running config in place and fails the
    deploy before the release runs: a broken edit changes nothing."""
    assert action.container and action.container.reload is not None
    reload = action.container.reload
    check_config(engine, action.target, reload)
    run_release(action, engine, say, board.release_gate if board else None,  # before the
                board.release_runs if board else None)  # new config loads
    reload_service(engine, action.target, reload, say, checked=True)
