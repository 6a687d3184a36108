"""What each release command ran, on the host where the deploy ran, for `rollback` to
show: a rollback runs no release command, so the data stays as the newer releases'
commands left it (migrations applied), and whoever rolls back sees which ran.

Per service, `.pojemnik/<project>/release-runs/<service>.json` (mode 0600, as the release
records) holds its last `KEEP` runs: when, the command, its exit code and the last lines
of its output (what the deploy showed as it ran).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from ...console import Say
from ...declaration.model import Stack
from ...errors import PojemnikError
from ...hostfiles.files import HostFiles

KEEP = 20  # runs per service
TAIL = 12  # output lines per run
PRIVATE = 0o600


@dataclass(frozen=True)
class ReleaseRun:
    service: str
    command: str
    started: int  # ns since the epoch
    code: int  # the exit code; -1: it did not finish (timeout, engine error)
    output: tuple[str, ...]  # its last lines

    @property
    def when(self) -> str:
        return datetime.fromtimestamp(self.started / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def lines(self) -> list[str]:
        result = "ok" if self.code == 0 else f"FAILED (exit {self.code})"
        return [f"  {self.when} `{self.command}`: {result}",
                *(f"    | {line}" for line in self.output)]


def started_now() -> int:
    return time.time_ns()


def run_dir(stack: Stack) -> str:
    return stack.host_path(f".pojemnik/{stack.project}/release-runs")


def load(stack: Stack, files: HostFiles, service: str) -> list[ReleaseRun] | None:
    """Oldest first; None: no run recorded (never ran, or before runs were recorded)."""
    text = files.read(run_dir(stack), f"{service}.json")
    if text is None:
        return None
    try:
        return [ReleaseRun(str(r["service"]), str(r["command"]), int(r["started"]),
                           int(r["code"]), tuple(str(x) for x in r["output"]))
                for r in json.loads(text)]
    except (ValueError, KeyError, TypeError):
        return None


def save(stack: Stack, files: HostFiles, runs: list[ReleaseRun], say: Say) -> None:
    """Each run added to its service's record. A failure here is said, never raised:
    the deploy did happen (or failed for its own reason)."""
    try:
        for service in sorted({r.service for r in runs}):
            kept = [*(load(stack, files, service) or []),
                    *(r for r in runs if r.service == service)][-KEEP:]
            files.write(run_dir(stack), f"{service}.json",
                        json.dumps([asdict(r) for r in kept], indent=1) + "\n", mode=PRIVATE)
    except PojemnikError as error:
        say(f"release commands: not recorded ({error}); a rollback cannot show them")


def since(runs: list[ReleaseRun], started: int) -> list[ReleaseRun]:
    return [r for r in runs if r.started >= started]
