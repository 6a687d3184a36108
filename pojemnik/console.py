"""What people read: one line at a time, prefixed by the host under `fab -H a,b`, and
progress (builds, transfers) drawn in place on a terminal with rich, as plain lines
elsewhere."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported only when progress is drawn: `invoke --list` stays quick
    from rich.progress import Progress, TaskID

Say = Callable[[str], None]

# Under `fab -H a,b` tasks run in parallel threads: each line says which host it is about.
HOST_PREFIX: ContextVar[str] = ContextVar("HOST_PREFIX", default="")


_SAYING = threading.Lock()


def say(line: str) -> None:
    # One write under a lock: print() writes the text and the newline apart, so two
    # threads of a wave ran their lines together.
    with _SAYING:
        sys.stdout.write(f"{HOST_PREFIX.get()}{line}\n")
        sys.stdout.flush()


def table_lines(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns, as `docker ps` prints them."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    return ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=False)).rstrip()
            for row in [header, *rows]]


def live() -> bool:
    """Draw progress in place (rich) only on a terminal, and not under `fab -H a,b` where
    several hosts' lines interleave; elsewhere plain lines, no escape codes."""
    return sys.stdout.isatty() and not HOST_PREFIX.get() and os.environ.get("TERM") != "dumb"


class Meter:
    """Progress of one transfer (bytes): a bar on a terminal, a line per tenth otherwise."""

    def __init__(self, label: str, total: int, say: Say = say) -> None:
        self.label, self.total, self.say = label, total, say
        self.sent = self.shown = 0
        self.bar: Progress | None = None
        if live() and total > 0:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TransferSpeedColumn,
            )

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                DownloadColumn(), TransferSpeedColumn(), transient=True)
            self.task = self.bar.add_task(label, total=total)
            self.bar.start()

    def advance(self, amount: int) -> None:
        self.sent += amount
        if self.bar is not None:
            self.bar.update(self.task, completed=self.sent)
        elif self.total > 8 * 2**20 and self.sent - self.shown >= self.total // 10:
            self.shown = self.sent
            self.say(f"{self.label}: {min(100, 100 * self.sent // self.total)}% "
                     f"({self.sent / 2**20:.1f} MiB)")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


class BuildBoard:
    """One line per image while it builds: its step (i/n) and time so far. On a terminal
    the lines update in place; otherwise a line when an image starts and when it ends."""

    def __init__(self, say: Say = say) -> None:
        self.say = say
        self.started: dict[str, float] = {}
        self.steps: dict[str, str] = {}
        self.progress: Progress | None = None
        self.rows: dict[str, TaskID] = {}
        self.lock = threading.Lock()
        if live():
            from rich.progress import Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("[{task.description}]"),
                                     TextColumn("{task.fields[step]}"), TimeElapsedColumn())
            self.progress.start()

    def start(self, name: str, detail: str) -> None:
        with self.lock:
            self.started[name] = time.monotonic()
            if self.progress is not None:
                self.rows[name] = self.progress.add_task(name, total=None, step="starting")
            else:
                self.say(f"[{name}] building {detail}")

    def step(self, name: str, line: str) -> None:
        """A line of the builder's output; `Step 3/12 : RUN ...` moves the step on."""
        match = STEP.match(line)
        if match and self.progress is not None:
            self.progress.update(self.rows[name], step=f"step {match[1]}/{match[2]}")
        if match:
            self.steps[name] = match[2]

    def finish(self, name: str, ok: bool) -> None:
        elapsed = time.monotonic() - self.started.get(name, time.monotonic())
        steps = f"{self.steps[name]} steps, " if name in self.steps else ""
        with self.lock:
            if self.progress is not None:
                self.progress.update(self.rows[name], step="built" if ok else "FAILED")
            line = f"[{name}] {'built' if ok else 'FAILED'} ({steps}{elapsed:.0f} s)"
            if self.progress is not None:
                self.progress.console.print(line, highlight=False)
            else:
                self.say(line)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


STEP = re.compile(r"^Step (\d+)/(\d+) :")


def quiet_broken_pipe() -> None:
    """`invoke ... | head` ends like any Unix tool's output would: quietly. A reader that
    stops reading closes the pipe, the next write raises BrokenPipeError, and Python would
    print its traceback (and a second one when it flushes stdout at exit). Only that error
    is hushed; sockets keep raising it to their callers as before (no SIGPIPE default)."""
    shown = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, trace: object) -> None:
        if not issubclass(kind, BrokenPipeError):
            shown(kind, error, trace)  # type: ignore[arg-type]
            return
        # Nothing more reaches the closed pipe, not even the flush at exit.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    sys.excepthook = hook
