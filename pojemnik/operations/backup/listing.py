"""`backup.list`: the complete backups (those with a manifest), newest first; and for
`status`, the last backup's and the last drill's result from the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ...console import Say
from ...declaration.model import Stack
from ...engine.backend import Engine
from ...errors import HostCommandError, OperationError
from ...hostfiles.files import HostFiles
from ...planning import backup as b
from ..records.history import entries
from ._helper import helper
from .run import declared_backup, ensure_listable, manifests


def complete_backups(engine: Engine, stack: Stack, say: Say) -> list[b.Manifest]:
    backup = declared_backup(stack)
    with helper(engine, stack, backup, say, []) as h:
        ensure_listable(h)
        return sorted(manifests(h), key=lambda m: m.time, reverse=True)


def scheduled_record(connection: Any, project: str) -> dict[str, Any] | None:
    """The agent's record of the last scheduled backup on the host (None: no agent there,
    or none readable: status goes on without it)."""
    from ..server.agent import records
    from .schedule import TASK

    try:
        found = records(connection, project)
    except (OperationError, HostCommandError):  # status shows what it can
        return None
    return next((r for r in found if r.get("name") == TASK), None)


def scheduled_entry(record: Mapping[str, Any]) -> dict[str, Any]:
    """The agent's record of a scheduled run (runs/backup.json) as an audit log entry."""
    lines = str(record.get("output", "")).strip().splitlines()
    result = "ok" if record.get("ok") else \
        f"failed: {lines[-1][-200:] if lines else 'exit ' + str(record.get('exit'))}"
    return {"kind": "backup", "when": record.get("finished") or record.get("started", ""),
            "result": result, "summary": "scheduled"}


def last_results(stack: Stack, files: HostFiles, now: datetime,
                 scheduled: Mapping[str, Any] | None = None) -> list[str]:
    """"backup: last ok 3 h ago (...)", and the same for the drill, from the audit log
    and the agent's record of the last scheduled run (`scheduled`), whichever is newer."""
    found = entries(stack, files)
    if scheduled:
        found = sorted([*found, scheduled_entry(scheduled)],
                       key=lambda e: _moment(str(e.get("when", ""))))
    lines = []
    for kind, good in (("backup", "ok"), ("drill", "passed")):
        mine = [e for e in found if e.get("kind") == kind]
        if not mine:
            lines.append(f"{kind}: never" + (" (`invoke backup.run`)" if kind == "backup"
                                             else " (`invoke backup.drill`)"))
            continue
        last = mine[-1]
        lines.append(f"{kind}: {last.get('result')} {_age(last.get('when', ''), now)} "
                     f"({last.get('summary')})")
        if last.get("result") != good:
            done = [e for e in mine if e.get("result") == good]
            lines.append(f"{kind}: last {good} " + (_age(done[-1].get("when", ""), now)
                                                    if done else "never"))
    return lines


def _moment(when: str) -> datetime:
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _age(when: str, now: datetime) -> str:
    try:
        seconds = (now - datetime.fromisoformat(when)).total_seconds()
    except ValueError:
        return "at an unknown time"
    hours = seconds / 3600
    return f"{seconds / 60:.0f} min ago" if hours < 1 else \
        f"{hours:.0f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"
