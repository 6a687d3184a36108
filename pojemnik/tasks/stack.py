"""The stack's own tasks: deploy, plan, check, ps, logs, down (rollback and history: in
`releases`)."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from invoke import Context, Exit, task

from ..console import say
from .context import (
    declared,
    engine_of,
    guard,
    host_files,
    is_remote,
    print_table,
    render_plan,
    require_declared,
    stack_of,
)
from .lock import holding_lock
from .swarm import swarm_logs

if TYPE_CHECKING:
    from ..declaration.model import Stack
    from ..operations.converge import Target
    from ..planning.plan import Options


def converge_task(c: Context, options: Options, dry: bool = False, fmt: str = "table",
                  verbose: bool = False) -> None:
    """Deploy (or, dry, show the plan) with these planning options."""
    from ..operations.deploy import deploy as run_deploy
    from ..planning.render import summary

    stack, problems = declared(c)
    if stack.target == "swarm" and options.only_services is None:
        from .swarm import swarm_deploy

        swarm_deploy(c, stack, problems, options, dry, fmt, verbose)
        return
    with engine_of(c) as engine, holding_lock(c, engine, stack, not dry and not problems):
        outcome = guard(lambda: run_deploy(stack, engine, options, say, dry=dry,
                                           problems=problems,
                                           host=c if is_remote(c) else None,
                                           verbose=verbose))
    if dry or not outcome.applied:
        print(render_plan(outcome.plan, fmt, stack))
    if not dry:
        say(f"{stack.project}: {summary(outcome.plan)}")


def target_of(c: Context, stack: Stack) -> Target | None:
    """For a plan on a host: its secrets are the host's, not the checkout's."""
    if not is_remote(c):
        return None
    from ..operations.deploy import remote_target

    return remote_target(c, stack, say, dry=True)


@task(help={"dry": "print the plan, change nothing",
            "format": "with --dry: table, json or bash",
            "remove_orphans": "also remove containers of services no longer declared",
            "recreate_networks": "recreate networks whose subnet changed, with their "
                                 "containers (volumes are kept)",
            "verbose": "show the image builders' whole output (always in .pojemnik/logs/)"})
def deploy(c: Context, dry: bool = False, format: str = "table",
           remove_orphans: bool = False, recreate_networks: bool = False,
           verbose: bool = False) -> None:
    """Build, create networks and run every service in dependency order, waiting for health."""
    from ..planning.plan import Options

    converge_task(c, Options(remove_orphans=remove_orphans,
                             recreate_networks=recreate_networks, now=time.time()),
                  dry=dry, fmt=format, verbose=verbose)


@task(help={"format": "table (default), json, or bash: the equivalent docker commands",
            "refresh": "plan image rebuilds with fresh package updates"})
def plan(c: Context, format: str = "table", refresh: bool = False) -> None:
    """Show what `deploy` would do and why, without doing it."""
    from ..operations.converge import checked_plan
    from ..planning.plan import Options

    stack, problems = declared(c)
    options = Options(refresh=refresh, now=time.time())
    if stack.target == "swarm":
        from .swarm import swarm_plan

        swarm_plan(c, stack, problems, options, format)
        return
    with engine_of(c) as engine:
        result = guard(lambda: checked_plan(stack, engine, options, problems, target_of(c, stack)))
        print(render_plan(result, format, stack))
        if format == "table":
            from ..operations.tls.certificate import planned

            line = planned(stack, engine)  # None without ACME names: the plan as before
            if line:
                say(line)


@task
def check(c: Context) -> None:
    """Validate the declaration and .env against the engine; change nothing."""
    from ..operations.converge import checked_plan
    from ..planning.plan import Options

    stack, problems = declared(c)
    if stack.target == "swarm":
        from .swarm import swarm_check

        swarm_check(c, stack, problems, Options(build=False))
    else:
        with engine_of(c) as engine:
            guard(lambda: checked_plan(stack, engine, Options(build=False), problems,
                                       target_of(c, stack)))
    say(f"{stack.project}: {len(stack.services)} services, {len(stack.networks)} networks, "
        f"{len(stack.images)} images: no problems")


@task(help={"json": "machine-readable output"})
def ps(c: Context, json_: bool = False) -> None:
    """List the stack's containers, stopped ones too (`docker ps --all`); on a Swarm, its
    services and where their tasks run."""
    stack = stack_of(c)
    if stack.target == "swarm":
        from .swarm import swarm_ps

        swarm_ps(c, stack, json_)
        return
    with engine_of(c) as engine:
        rows = guard(lambda: engine.project_containers(stack.project))
    if json_:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return
    print_table(["NAME", "SERVICE", "IMAGE", "STATUS", "PORTS"],
                [[r.name, r.service, r.image, r.status, r.ports] for r in rows])


@task(help={"name": "service (default: all)", "follow": "keep streaming new lines",
            "tail": "lines from the end (default 100; 'all' for everything)",
            "since": "only lines since: a duration (10m, 1h), a Unix timestamp or an "
                     "RFC 3339 date (2026-11-27T10:00:00Z)"})
def logs(c: Context, name: str = "", follow: bool = False, tail: str = "100",
         since: str = "") -> None:
    """Show a service's logs (`docker logs`); --follow streams them."""
    from ..declaration.units import since_timestamp

    stack = stack_of(c)
    services = [name] if name else [s.name for s in stack.services]
    require_declared("service", services, [s.name for s in stack.services])
    if follow and len(services) > 1:
        raise Exit("--follow needs one service: --name SERVICE", code=2)
    if tail != "all" and not tail.isdigit():
        raise Exit(f"--tail {tail!r}: give a number of lines, or 'all'", code=2)
    count: int | str = tail if tail == "all" else int(tail)
    try:
        start = since_timestamp(since, time.time()) if since else None
    except ValueError as error:
        raise Exit(f"--since {error}", code=2) from error
    with engine_of(c) as engine:
        source = swarm_logs(engine) if stack.target == "swarm" else engine
        for service in services:
            container = stack.container_name(service)
            if len(services) > 1:
                print(f"==> {container} <==", flush=True)

            def show(container: str = container) -> None:
                for chunk in source.logs(container, follow, count, start):
                    sys.stdout.write(chunk.decode(errors="replace"))
                    sys.stdout.flush()

            guard(show)


@task(help={"volumes": "also remove the named volumes: DELETES the data (databases)",
            "images": "also remove the project's images: its built tags, release tags "
                      "(rollback then has nothing to go back to) and failed builds' leftovers"})
def down(c: Context, volumes: bool = False, images: bool = False) -> None:
    """Remove the stack's containers and networks; volumes (data) are kept unless --volumes,
    images unless --images."""
    from ..declaration.order import startup_order
    from ..operations.teardown import down as tear_down

    stack = stack_of(c)
    if images and stack.target == "swarm":
        raise Exit(f"down --images: {stack.source} declares target swarm, whose images are "
                   "on every node; remove them there (`docker image rm`), or run `down` "
                   "without --images", code=2)
    with engine_of(c) as engine, holding_lock(c, engine, stack):
        if stack.target == "swarm":
            from ..engine.swarm_engine import swarm_of
            from ..operations.swarm_teardown import swarm_down

            guard(lambda: swarm_down(engine, swarm_of(engine), stack.project, say,
                                     startup_order(stack), volumes=volumes))
            return
        guard(lambda: tear_down(engine, stack.project, say, volumes=volumes,
                                order=startup_order(stack)))
        if images:
            from ..operations.project_images import forget_gone_releases, remove_images

            guard(lambda: remove_images(engine, stack.project, say))
            guard(lambda: forget_gone_releases(stack, engine, host_files(c), say))
