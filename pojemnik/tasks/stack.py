"""The stack's own tasks: deploy, plan, check, ps, logs, down (rollback and history: in
`releases`)."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING

from invoke import Context, Exit, task

from ..console import say
from .context import (
    declared,
    guard,
    names,
    print_table,
    render_plan,
    require_declared,
    stack_of,
    target_of,
)
from .lock import holding_lock

if TYPE_CHECKING:
    from ..declaration.model import Stack
    from ..planning.plan import Options


def converge_task(c: Context, options: Options, dry: bool = False, fmt: str = "table",
                  verbose: bool = False) -> Stack:
    """Deploy (or, dry, show the plan) with these planning options; with only some
    services or images, on the task's engine alone (also a Swarm's manager)."""
    stack, problems = declared(c)
    with target_of(c, stack, verbose, one_host=options.only_services is not None) as target, \
            holding_lock(c, target.engine, stack, not dry and not problems):
        done = guard(lambda: target.deploy(options, problems, dry))
    if dry or not done.applied:
        print(render_plan(done.plan, fmt, stack))
    if not dry:
        say(f"{stack.project}: {done.summary}")
    return stack


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

    stack = converge_task(c, Options(remove_orphans=remove_orphans,
                                     recreate_networks=recreate_networks, now=time.time()),
                          dry=dry, fmt=format, verbose=verbose)
    if not dry:
        from .agent import after_deploy

        after_deploy(c, stack)


@task(help={"format": "table (default), json, or bash: the equivalent docker commands",
            "refresh": "plan image rebuilds with fresh package updates"})
def plan(c: Context, format: str = "table", refresh: bool = False) -> None:
    """Show what `deploy` would do and why, without doing it."""
    from ..planning.plan import Options

    stack, problems = declared(c)
    with target_of(c, stack) as target:
        result = guard(lambda: target.plan(Options(refresh=refresh, now=time.time()),
                                           problems))
        print(render_plan(result, format, stack))
        if format == "table":
            from ..operations.tls.certificate import planned

            line = planned(stack, target.engine)  # None without ACME names: as before
            if line:
                say(line)


@task
def check(c: Context) -> None:
    """Validate the declaration and .env against the engine; change nothing."""
    from ..planning.plan import Options

    stack, problems = declared(c)
    with target_of(c, stack) as target:
        guard(lambda: target.plan(Options(build=False), problems))
    say(f"{stack.project}: {len(stack.services)} services, {len(stack.networks)} networks, "
        f"{len(stack.images)} images: no problems")


@task(help={"json": "machine-readable output"})
def ps(c: Context, json_: bool = False) -> None:
    """List the stack's containers, stopped ones too (`docker ps --all`); on a Swarm, its
    services and where their tasks run."""
    stack = stack_of(c)
    with target_of(c, stack) as target:
        listing = guard(target.ps)
    if json_:
        print(json.dumps(listing.records, indent=2))
        return
    print_table(listing.header, listing.rows)


@task(help={"name": "service (default: all)", "follow": "keep streaming new lines",
            "service": "services to show (default: all), comma-separated; same as --name",
            "tail": "lines from the end, per service (default 100; 'all' for everything)",
            "since": "only lines since: a duration (10m, 1h), a Unix timestamp or an "
                     "RFC 3339 date (2026-11-27T10:00:00Z)",
            "until": "only lines until: the same forms as --since",
            "grep": "only lines matching this regular expression"})
def logs(c: Context, name: str = "", follow: bool = False, tail: str = "100",
         since: str = "", service: str = "", until: str = "", grep: str = "") -> None:
    """Show the services' logs merged by time, the service's name on each line (one
    service: its lines as `docker logs` gives them); --follow streams them."""
    from ..declaration.units import since_timestamp
    from .upkeep import merged_logs, selection

    stack = stack_of(c)
    wanted = sorted((names(name) or frozenset()) | (names(service) or frozenset()))
    services = wanted or [s.name for s in stack.services]
    require_declared("service", services, [s.name for s in stack.services])
    if tail != "all" and not tail.isdigit():
        raise Exit(f"--tail {tail!r}: give a number of lines, or 'all'", code=2)
    count: int | str = tail if tail == "all" else int(tail)
    try:
        start = since_timestamp(since, time.time()) if since else None
    except ValueError as error:
        raise Exit(f"--since {error}", code=2) from error
    pick = selection(until, grep, follow)
    with target_of(c, stack) as target:
        if len(services) > 1 or pick.until is not None or pick.grep is not None:
            containers = {s: stack.container_name(s) for s in services}
            guard(lambda: merged_logs(target, containers, follow, count, start, pick))
            return
        container = stack.container_name(services[0])

        def show() -> None:
            for chunk in target.logs(container, follow, count, start):
                sys.stdout.write(chunk.decode(errors="replace"))
                sys.stdout.flush()

        guard(show)


@task(help={"volumes": "also remove the named volumes: DELETES the data (databases)",
            "images": "also remove the project's images: its built tags, release tags "
                      "(rollback then has nothing to go back to) and failed builds' leftovers"})
def down(c: Context, volumes: bool = False, images: bool = False) -> None:
    """Remove the stack's containers and networks; volumes (data) are kept unless --volumes,
    images unless --images."""
    stack = stack_of(c)
    with target_of(c, stack) as target, holding_lock(c, target.engine, stack):
        guard(lambda: target.down(volumes, images))
