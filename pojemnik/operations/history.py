"""An audit log on the host where a deploy ran: one JSON line per deploy that changed
something: when, who, what changed, and the result."""

from __future__ import annotations

import getpass
import json
import socket
from datetime import UTC, datetime
from typing import Any

from ..declaration.model import Stack
from ..planning import plan as p
from .upstreams import HostFiles

LOG = "history.log"


def log_directory(stack: Stack) -> str:
    return stack.host_path(f".pojemnik/{stack.project}")


def record(stack: Stack, files: HostFiles, plan: p.Plan, result: str) -> None:
    record_lines(stack, files, p.summary(plan),
                 [f"{a.kind} {a.target}: {a.reason}" for a in plan.actions], result)


def record_lines(stack: Stack, files: HostFiles, summary: str, what: list[str],
                 result: str) -> None:
    """One deploy: its summary line and its actions (a Swarm deploy's too)."""
    line = {"when": datetime.now(UTC).isoformat(timespec="seconds"),
            "who": f"{getpass.getuser()}@{socket.gethostname()}",
            "summary": summary, "what": what, "result": result}
    files.append(log_directory(stack), LOG, json.dumps(line) + "\n")


def entries(stack: Stack, files: HostFiles) -> list[dict[str, Any]]:
    text = files.read(log_directory(stack), LOG) or ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]
