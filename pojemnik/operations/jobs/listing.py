"""The declared jobs beside their last runs as the agent recorded them on the host."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...agent.schedule import on_calendar
from ...declaration.model import Stack
from ...planning.jobs import task_name


def job_rows(stack: Stack, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per job: its declaration, when systemd runs it, and its last run (None: never)."""
    last = {str(r.get("name")): r for r in records}
    rows = []
    for job in stack.jobs:
        run = last.get(task_name(job.name))
        rows.append({
            "name": job.name, "service": job.service, "command": job.command,
            "schedule": job.schedule, "on_calendar": on_calendar(job.schedule),
            "timeout": job.timeout,
            "last_run": None if run is None else {
                "started": run.get("started"), "finished": run.get("finished"),
                "exit": run.get("exit"), "ok": run.get("ok"), "seconds": run.get("seconds"),
                "output": run.get("output", "")},
        })
    return rows


def last_run_text(row: Mapping[str, Any]) -> str:
    run = row.get("last_run")
    if not run:
        return "never run"
    result = "ok" if run.get("ok") else f"FAILED (exit {run.get('exit')})"
    return f"{result} at {run.get('started')}, {run.get('seconds')} s"
