"""An audit log on the host where a deploy ran: one JSON line per deploy that changed
something, and per rollback: when, who, which kind, what changed, and the result."""

from __future__ import annotations

import getpass
import json
import socket
from datetime import UTC, datetime
from typing import Any

from ...declaration.model import Stack
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
           kind: str = "deploy", summary: str | None = None) -> None:
    record_lines(stack, files, summary or plan_summary(plan),
                 [f"{a.kind} {a.target}: {a.reason}" for a in plan.actions], result, kind)


def record_lines(stack: Stack, files: HostFiles, summary: str, what: list[str], result: str,
                 kind: str = "deploy") -> None:
    """One line: a deploy's summary and actions (a Swarm deploy's too), or a rollback's."""
    line = {"when": now(), "who": who(), "kind": kind, "summary": summary, "what": what,
            "result": result}
    files.append(log_directory(stack), LOG, json.dumps(line) + "\n")


def entries(stack: Stack, files: HostFiles) -> list[dict[str, Any]]:
    text = files.read(log_directory(stack), LOG) or ""
    found = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [{"kind": "deploy", **entry} for entry in found]  # lines from before kinds
