"""`rollback` and `history`: the releases each deploy keeps, going back to one, and the
audit log of deploys and rollbacks on the host."""

from __future__ import annotations

import json
import shutil

from invoke import Context, Exit, task

from ..console import say
from .context import (
    engine_of,
    guard,
    host_files,
    names,
    print_table,
    render_plan,
    require_declared,
    stack_of,
)
from .lock import holding_lock


@task(help={"name": "service to roll back, comma-separated for several (default: the ones "
                    "the last deploy changed)",
            "dry": "print what it would do, change nothing",
            "format": "with --dry: table, json or bash"})
def rollback(c: Context, name: str = "", dry: bool = False, format: str = "table") -> None:
    """Redeploy each service's release before the running one (its image and container
    spec), start-first like a deploy; the next `deploy` goes forward again."""
    from ..operations.host.rollback import plan_rollback
    from ..operations.host.rollback import rollback as run_rollback

    stack = stack_of(c)
    if stack.target == "swarm":
        # Swarm keeps each service's previous spec and rolls a failing update back itself.
        raise Exit("on a Swarm, a failing update is rolled back by Swarm itself; to go back "
                   f"by hand, on the manager: docker service rollback {stack.project}-SERVICE",
                   code=2)
    wanted = sorted(names(name) or [])
    require_declared("service", wanted, [s.name for s in stack.services])
    files = host_files(c)
    with engine_of(c) as engine, holding_lock(c, engine, stack, not dry):
        if dry:
            planned, _ = guard(lambda: plan_rollback(stack, engine, files, wanted or None))
            for note in planned.notes:
                say(f"rollback: {note}; left as it is")
            print(render_plan(planned.plan, format, stack))
            return
        result = guard(lambda: run_rollback(stack, engine, files, wanted or None, say))
    for service, release in sorted(result.targets.items()):
        say(f"{stack.project}: {service} rolled back to release {release.number} "
            f"(deployed {release.when} by {release.who})")
    say("the next `invoke deploy` goes forward to what stack.py declares again")


@task(help={"json": "machine-readable output"})
def history(c: Context, json_: bool = False) -> None:
    """The audit log of deploys and rollbacks on this host (when, who, what changed, the
    result), and the releases kept per service for `rollback`."""
    from ..operations.records.history import entries
    from ..operations.records.releases import load_all
    from ..planning.history_view import log_lines, release_rows

    stack = stack_of(c)
    files = host_files(c)
    found = guard(lambda: entries(stack, files))
    kept = guard(lambda: load_all(stack, files))
    rows = [{"service": service, "release": r.number, "running": r.number == h.current,
             "deployed": r.when, "who": r.who, "tag": r.tag, "image": r.image_id}
            for service, h in kept.items() for r in h.releases]
    if json_:
        print(json.dumps({"log": found, "releases": rows}, indent=2))
        return
    width = max(shutil.get_terminal_size((100, 24)).columns, 60)
    print("\n".join(log_lines(found, width)) + "\n(times in UTC)")
    say(f"\nreleases kept (keep_images={stack.keep_images}; * runs now, `rollback` goes to "
        "the one above it):")
    print_table(["SERVICE", "RELEASE", "DEPLOYED", "BY", "IMAGE"], release_rows(rows))
