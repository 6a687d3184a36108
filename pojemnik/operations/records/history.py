"""An audit log on the host where a deploy ran: one JSON line per deploy that changed
something, and per rollback: when, who, which kind, what it planned, and the result; a
failed one also what it did first and, when a check refused it, which and what kept
serving (read by `history`, rendered by planning/history_view.py)."""

from __future__ import annotations

import getpass
import json
import socket
from datetime import UTC, datetime
from typing import Any

from ...declaration.model import Stack
from ...errors import Refused
from ...hostfiles.files import HostFiles
from ...planning import plan as p
from ...planning.render import summary as plan_summary

LOG = "history.log"


def log_directory(stack: Stack) -> str:
    return stack.host_path(f".pojemnik/{stack.project}")


def who() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record(stack: Stack, files: HostFiles, plan: p.Plan, result: str,
           kind: str = "deploy", summary: str | None = None,
           error: BaseException | None = None, done: list[p.Action] | None = None) -> None:
    """`summary` and `what` are what was planned; a failed deploy's line also says what
    it did (`done`) and, when a check refused it, which check and what kept serving."""
    record_lines(stack, files, summary or plan_summary(plan),
                 [f"{a.kind} {a.target}: {a.reason}" for a in plan.actions], result, kind,
                 outcome(error, done) if error is not None else {})


def outcome(error: BaseException, done: list[p.Action] | None) -> dict[str, Any]:
    """A failure's fields: `result` (refused or failed), `refused` (by, kept), `done`."""
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    fields: dict[str, Any] = {"result": f"failed: {first}"}
    if isinstance(error, Refused):
        fields = {"result": f"refused: {first}",
                  "refused": {"by": error.by, "kept": error.kept}}
    if done is not None:
        fields["done"] = [f"{a.kind} {a.target}" for a in done]
    return fields


def record_lines(stack: Stack, files: HostFiles, summary: str, what: list[str], result: str,
                 kind: str = "deploy", extra: dict[str, Any] | None = None) -> None:
    """One line: a deploy's summary and actions (a Swarm deploy's too), or a rollback's."""
    line = {"when": now(), "who": who(), "kind": kind, "summary": summary, "what": what,
            "result": result, **(extra or {})}
    files.append(log_directory(stack), LOG, json.dumps(line) + "\n")


def entries(stack: Stack, files: HostFiles) -> list[dict[str, Any]]:
    text = files.read(log_directory(stack), LOG) or ""
    found = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [{"kind": "deploy", **entry} for entry in found]  # lines from before kinds
