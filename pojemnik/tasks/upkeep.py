"""`prune`, and the merged view behind `logs` (the task itself is in `stack`): thin."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from invoke import Context, Exit, task

from ..console import say
from .context import engine_of, guard, host_files, stack_of
from .lock import holding_lock

if TYPE_CHECKING:
    from ..operations.upkeep.logs import LogSource
    from ..planning.log_lines import Selection


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


def selection(until: str, grep: str, follow: bool) -> Selection:
    """--until and --grep, checked: a clear error (exit 2) before anything is read."""
    from ..planning.log_lines import Selection, pattern

    if until and follow:
        raise Exit("--until ends the output and --follow never does: give one of them",
                   code=2)
    try:
        end = _until_ns(until) if until else None
    except ValueError as error:
        raise Exit(f"--until {error}", code=2) from error
    try:
        return Selection(end, pattern(grep) if grep else None)
    except ValueError as error:
        raise Exit(f"--grep {error}", code=2) from error


def _until_ns(text: str) -> int:
    """A stamp as `docker logs --timestamps` prints it keeps its nanoseconds."""
    from ..declaration.units import since_timestamp
    from ..planning.log_lines import stamp_ns

    try:
        return stamp_ns(text)
    except ValueError:
        return int(since_timestamp(text, time.time()) * 10**9)


def merged_logs(source: LogSource, containers: dict[str, str], follow: bool,
                tail: int | str, since: float | None, pick: Selection) -> None:
    """Print every service's lines merged by time, then, following, the new ones."""
    from ..operations.upkeep.logs import follow as follow_logs
    from ..operations.upkeep.logs import history
    from ..planning.log_lines import shown

    width = max(len(s) for s in containers) if len(containers) > 1 else 0
    started = time.time()
    seen: dict[str, int] = {}
    for line in history(source, containers, tail, since, pick):
        print(shown(line, width), flush=True)
        seen[line.service] = line.at
    if follow:  # from before the history was read: what came since, and not seen
        follow_logs(source, containers, since or started, seen, pick,
                    lambda line: print(shown(line, width), flush=True))
