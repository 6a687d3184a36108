"""`status`: each service's state, readiness, restarts, uptime, memory and CPU, and the
host's memory and disk against the stack; `fab -H host status` asks the host."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from invoke import Context, task

from ..console import say
from .context import engine_of, guard, host_files, stack_of

if TYPE_CHECKING:
    from ..declaration.model import Stack
    from ..planning.maintenance import Maintenance


@task(help={"json": "machine-readable output"})
def status(c: Context, json_: bool = False) -> None:
    """How the stack is doing: per service, and the host's memory and disk."""
    from ..operations.status import as_json, gather, table

    stack = stack_of(c)
    with engine_of(c) as engine:
        found = guard(lambda: gather(stack, engine, time.time()))
    maintenance = _maintenance(c, stack)
    incidents = guard(lambda: _incidents(c, stack))
    if json_:
        from dataclasses import asdict

        data = json.loads(as_json(found))
        data["maintenance"] = asdict(maintenance) if maintenance else None
        if incidents is not None:
            data["incidents"] = incidents
        print(json.dumps(data, indent=2))
        return
    for line in table(found):
        say(line)
    if maintenance is not None:
        say(maintenance.describe())
    if incidents is not None:
        from ..operations.upkeep.watch import incident_lines

        for line in incident_lines(incidents):
            say(line)
    if stack.backup is not None:
        from datetime import UTC, datetime

        from ..operations.backup.listing import last_results, scheduled_record

        record = scheduled_record(c, stack.project)
        for line in guard(lambda: last_results(stack, host_files(c), datetime.now(UTC),
                                               record)):
            say(line)
    if stack.jobs:
        from .jobs import last_runs

        for line in last_runs(c, stack):
            say(line)


def _maintenance(c: Context, stack: Stack) -> Maintenance | None:
    """The maintenance mode on the host; None where there is none (no proxy declares
    Upstreams, or a Swarm)."""
    from ..operations.maintenance.switch import current

    if stack.target == "swarm" or not any(s.upstreams for s in stack.services):
        return None
    return guard(lambda: current(stack, host_files(c)))


def _incidents(c: Context, stack: Stack) -> list[dict[str, Any]] | None:
    """The open incidents the server's checks keep (None: none declared, none ran)."""
    from ..operations.upkeep.watch import open_incidents

    return open_incidents(stack, host_files(c))
