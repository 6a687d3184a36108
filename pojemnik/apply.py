"""Carry out a plan through the engine: the imperative shell around the pure core.

`converge` is the whole of `invoke deploy`: observe -> validate -> plan -> apply.
Nothing is changed unless validation passed. Volumes are never removed here, so a
failure halfway loses no data, and running again picks up where it stopped.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import plan as p
from .base import ensure_base
from .engine import Engine, Say
from .local_state import LocalState
from .model import LABEL_CONFIG_HASH, Stack
from .problems import InvalidStack
from .spec import volume_labels
from .validate import validate

BUILD_WORKERS = 2  # a small server has few cores; more parallel builds only thrash


@dataclass(frozen=True)
class Outcome:
    plan: p.Plan
    applied: bool


def checked_plan(stack: Stack, engine: Engine, options: p.Options,
                 extra_problems: list | None = None) -> p.Plan:
    """Observe, validate (raising every problem at once), plan. Changes nothing."""
    observed = engine.observe(stack)
    images_only = options.only_services == frozenset()
    problems = list(extra_problems or []) + validate(stack, observed, images_only,
                                                     options.recreate_networks)
    if problems:
        raise InvalidStack(problems)
    return p.make_plan(stack, observed, options)


def converge(stack: Stack, engine: Engine, options: p.Options, say: Say,
             dry: bool = False, extra_problems: list | None = None,
             ship_files: Callable[[], None] | None = None) -> Outcome:
    plan = checked_plan(stack, engine, options, extra_problems)
    if dry or not plan:
        return Outcome(plan, applied=False)
    if plan.of_kind(p.BUILD_BASE):
        # The base image's id is part of every image's build hash: plan again with it.
        ensure_base(engine, stack.base_image, say)
        plan = checked_plan(stack, engine, options, extra_problems)
    apply(plan, stack, engine, say, ship_files)
    return Outcome(plan, applied=True)


def apply(plan: p.Plan, stack: Stack, engine: Engine, say: Say,
          ship_files: Callable[[], None] | None = None) -> None:
    """`ship_files` mirrors mounted files to a remote host, once secrets exist and before
    any container that mounts them starts."""
    for action in plan.of_kind(p.BUILD_BASE):
        ensure_base(engine, action.target, say)
    builds = plan.of_kind(p.BUILD)
    if builds:
        with ThreadPoolExecutor(max_workers=BUILD_WORKERS) as pool:
            for future in [pool.submit(engine.build, a.image, say, a.fresh)
                           for a in builds if a.image]:
                future.result()
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
        name = action.target.removeprefix(f"{stack.project}-")
        engine.create_volume(action.target, volume_labels(stack, name))
    for action in plan.of_kind(p.CREATE_SECRET):
        write_secret(stack, action.target, say)
    if ship_files is not None and plan.of_kind(p.CREATE, p.RECREATE, p.START, p.RELOAD):
        ship_files()
    for action in plan.of_kind(p.REMOVE_ORPHAN):
        say(f"container {action.target}: removing ({action.reason})")
        engine.remove_container(action.target)
    state = LocalState.load(stack.state_path())
    _containers(plan, engine, say, state)


def _containers(plan: p.Plan, engine: Engine, say: Say, state: LocalState) -> None:
    actions = plan.of_kind(p.CREATE, p.RECREATE, p.START, p.RELOAD)
    for wave in sorted({a.wave for a in actions}):
        batch = [a for a in actions if a.wave == wave]
        with ThreadPoolExecutor(max_workers=max(1, len(batch))) as pool:
            for future in [pool.submit(_one_container, a, engine, say) for a in batch]:
                future.result()
        # Remember which config each (re)loaded container runs, once the wave is healthy.
        for action in batch:
            config = action.container.labels.get(LABEL_CONFIG_HASH) if action.container else None
            if config:
                state.record_config(engine.container_id(action.target), config)


def _one_container(action: p.Action, engine: Engine, say: Say) -> None:
    say(f"container {action.target}: {action.kind} ({action.reason})")
    if action.kind == p.RELOAD:
        assert action.container
        reload_config(engine, action)
        say(f"container {action.target}: config reloaded")
        return
    if action.kind == p.START:
        engine.start(action.target)
    else:
        assert action.container
        if action.kind == p.RECREATE:
            engine.remove_container(action.target)
        engine.create_container(action.container)
    engine.wait_healthy(action.target)
    say(f"container {action.target}: healthy")


def reload_config(engine: Engine, action: p.Action) -> None:
    """Check the new config inside the running container, then reload it gracefully.
    A failed check leaves the running config in place and fails the deploy."""
    from .engine import EngineError

    assert action.container
    reload = action.container.reload
    assert reload is not None
    if reload.check:
        code, output = engine.exec(action.target, list(reload.check))
        if code != 0:
            raise EngineError(
                f"{action.target}: the new config is rejected by `{' '.join(reload.check)}`; "
                f"the running config is kept.\n{output.rstrip()}")
    code, output = engine.exec(action.target, list(reload.command))
    if code != 0:
        raise EngineError(f"{action.target}: `{' '.join(reload.command)}` failed "
                          f"(exit {code}):\n{output.rstrip()}")


def write_secret(stack: Stack, name: str, say: Say) -> None:
    """A random value in a file only root on the host can reach (the folder is 0700);
    the file itself is world-readable so the non-root user inside the container can
    read its bind mount."""
    path = stack.secret_path(name)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.parent.chmod(0o700)
    if path.exists():
        return
    length = next(s.length for s in stack.secrets if s.name == name)
    path.write_text(secrets.token_urlsafe(length))
    path.chmod(0o644)
    say(f"secret {name}: generated in {path.relative_to(stack.root)}")
