"""`prune` (and, beside it, the upkeep of a long-running host): thin, as every task."""

from __future__ import annotations

import json

from invoke import Context, Exit, task

from ..console import say
from .context import engine_of, guard, host_files, stack_of
from .lock import holding_lock


@task(help={"dry_run": "list what would be removed, change nothing",
            "json": "machine-readable output (what is, or would be, removed)"})
def prune(c: Context, dry_run: bool = False, json_: bool = False) -> None:
    """Remove this project's release images beyond keep_images, dangling build layers and
    stopped one-off containers; never volumes, never another project's or your images."""
    from ..operations.upkeep.prune import prune as run_prune

    stack = stack_of(c)
    if stack.target == "swarm":
        raise Exit(f"prune: {stack.source} declares target swarm, whose images are on every "
                   "node; prune each node's engine there (`docker image prune`)", code=2)
    quiet = (lambda _line: None) if json_ else say
    with engine_of(c) as engine, holding_lock(c, engine, stack, not dry_run):
        plan = guard(lambda: run_prune(stack, engine, host_files(c), quiet, dry=dry_run))
    if json_:
        print(json.dumps({"dry_run": dry_run, **plan.as_data()}, indent=2))
