"""`deploy`, `plan` and `check` when the stack's target is a Swarm: the engine of the task is
the manager (`fab -H deploy@manager`), images are built on this machine and pushed to
every node through it. Thin: the work is `operations.swarm.deploy`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from invoke import Context

from ..console import say
from .context import engine_of, guard, is_remote, print_table, render_plan
from .lock import holding_lock

if TYPE_CHECKING:
    from ..declaration.model import Stack
    from ..declaration.problems import Problem
    from ..engine.backend import Engine
    from ..engine.swarm.manager import SwarmEngine
    from ..operations.swarm.deploy import SwarmSite
    from ..planning.plan import Options


@contextmanager
def swarm_site(c: Context, manager: Engine, verbose: bool = False) -> Iterator[SwarmSite]:
    """Over SSH the images are built here, with this machine's engine; locally the
    manager's engine is this machine's."""
    from ..operations.swarm.deploy import swarm_site as make

    if not is_remote(c):
        yield make(None, manager, manager, say, verbose)
        return
    from ..engine.local import connect_local

    build = guard(lambda: connect_local(c.config.pojemnik.get("docker_host")))
    try:
        yield make(c, manager, build, say, verbose)
    finally:
        build.close()


def swarm_deploy(c: Context, stack: Stack, problems: list[Problem], options: Options,
                 dry: bool, fmt: str, verbose: bool) -> None:
    from ..operations.swarm.deploy import swarm_converge
    from ..planning.swarm.plan import swarm_summary

    with engine_of(c) as engine, holding_lock(c, engine, stack, not dry and not problems), \
            swarm_site(c, engine, verbose) as target:
        outcome = guard(lambda: swarm_converge(stack, engine, options, say, target, dry=dry,
                                               problems=problems))
    if dry or not outcome.applied:
        print(render_plan(outcome.plan, fmt, stack))
    if not dry:
        say(f"{stack.project}: {swarm_summary(outcome.plan)}")


def swarm_plan(c: Context, stack: Stack, problems: list[Problem], options: Options,
               fmt: str) -> None:
    print(render_plan(_checked(c, stack, problems, options), fmt, stack))


def swarm_check(c: Context, stack: Stack, problems: list[Problem], options: Options) -> None:
    _checked(c, stack, problems, options)


def _checked(c: Context, stack: Stack, problems: list[Problem], options: Options) -> object:
    from ..operations.swarm.deploy import checked_swarm_plan

    with engine_of(c) as engine, swarm_site(c, engine) as target:
        return guard(lambda: checked_swarm_plan(stack, engine, options, problems, target))


def swarm_logs(engine: Engine) -> SwarmEngine:
    """Where `logs` reads a service's lines on a Swarm: `docker service logs`."""
    from ..engine.swarm.manager import swarm_of

    return swarm_of(engine)


def swarm_ps(c: Context, stack: Stack, as_json: bool) -> None:
    """The services, how many tasks run of those meant to, on which nodes, the update."""
    import json
    from dataclasses import asdict

    with engine_of(c) as engine:
        rows = guard(lambda: swarm_logs(engine).project_services(stack.project))
    if as_json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return
    table = []
    for row in rows:
        current = row.current()
        running = sorted(t.node for t in current if t.state == "running")
        table.append([row.name, f"{len(running)}/{len(current)}", ", ".join(running) or "-",
                      row.update_state or "-", row.image.removeprefix("sha256:")[:12]])
    print_table(["SERVICE", "RUNNING", "NODES", "UPDATE", "IMAGE"], table)
