"""`status`: each service's state, readiness, restarts, uptime, memory and CPU, and the
host's memory and disk against the stack; `fab -H host status` asks the host."""

from __future__ import annotations

import time

from invoke import Context, task

from ..console import say
from .context import engine_of, guard, stack_of


@task(help={"json": "machine-readable output"})
def status(c: Context, json_: bool = False) -> None:
    """How the stack is doing: per service, and the host's memory and disk."""
    from ..operations.status import as_json, gather, table

    stack = stack_of(c)
    with engine_of(c) as engine:
        found = guard(lambda: gather(stack, engine, time.time()))
    if json_:
        print(as_json(found))
        return
    for line in table(found):
        say(line)
    if stack.backup is not None:
        from datetime import UTC, datetime

        from ..operations.backup.listing import last_results
        from .context import host_files

        for line in guard(lambda: last_results(stack, host_files(c), datetime.now(UTC))):
            say(line)
    if stack.jobs:
        from .jobs import last_runs

        for line in last_runs(c, stack):
            say(line)
