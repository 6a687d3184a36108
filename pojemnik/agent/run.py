"""One run of a task: never beside another run of itself (an flock in the state
directory), skipped while backing off, under the deploy lock (waited for, bounded), its
steps under the timeout, the containers it started removed, its record written.

Containers a task starts carry the label `pojemnik.agent.task=<project>/<task>`
(`TASK_LABEL`): whatever is left of them (a run killed at its timeout, a crash) is
removed after each run and before the next.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from . import lock, records
from .config import Config, Task
from .steps import run_steps

TASK_LABEL = "pojemnik.agent.task"
BUSY = 75  # EX_TEMPFAIL: the task is already running, or the deploy lock stayed held


def say(line: str) -> None:
    print(f"[pojemnik-agent] {line}", file=sys.stderr, flush=True)


def echo(chunk: bytes) -> None:
    """What a task prints, as it comes (to the journal under systemd), secrets masked."""
    sys.stdout.buffer.write(records.masked(chunk.decode(errors="replace")).encode())
    sys.stdout.buffer.flush()


@contextlib.contextmanager
def alone(state: str, name: str) -> Iterator[bool]:
    """True while this process is the only run of `name`; False: another one is."""
    folder = Path(state) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.flock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield True


def remove_leftovers(config: Config, task: Task) -> None:
    label = f"{TASK_LABEL}={config.project}/{task.name}"
    found = lock.docker("ps", "-aq", "--filter", f"label={label}")
    ids = found.stdout.split() if found.returncode == 0 else []
    if ids:
        lock.docker("rm", "-f", *ids)


def run(config: Config, state: str, name: str, scheduled: bool = True,
        out: Callable[[bytes], None] = echo) -> int:
    """The task's exit code (BUSY: it did not run). `scheduled`: honour the backoff (a
    run asked for by a person, `jobs.run`, is not held back by it)."""
    task = config.task(name)
    with alone(state, name) as only:
        if not only:
            say(f"{name} is already running (see {Path(state) / 'locks' / name}.flock): "
                "this run is skipped")
            return BUSY
        previous = records.read(state, name)
        until = records.backing_off(previous, datetime.now(UTC)) if scheduled else None
        if until is not None and task.backoff is not None:
            say(f"{name} failed {previous and previous.get('failures')} time(s) in a row: "
                f"backing off until {until}")
            return 0
        return _run(config, state, task, previous, out)


def _run(config: Config, state: str, task: Task, previous: dict[str, object] | None,
         out: Callable[[bytes], None]) -> int:
    started = datetime.now(UTC)
    with contextlib.suppress(Exception):
        remove_leftovers(config, task)
    held: lock.Held | None = None
    try:
        if task.lock:
            held = lock.take(config.project, config.lock_image,
                             f"pojemnik-agent run {task.name}", task.lock_wait, say)
        outcome = run_steps(task.steps, task.timeout, out)
        code, output = outcome.exit, outcome.output
    except (lock.LockBusy, lock.LockFailed) as error:
        say(str(error))
        code, output = BUSY, f"[pojemnik-agent] {error}\n".encode()
    finally:
        with contextlib.suppress(Exception):
            remove_leftovers(config, task)
        if held is not None:
            held.release()
    finished = datetime.now(UTC)
    records.write(state, records.record(task.name, started, finished, code, output,
                                        previous, task.backoff))
    return code


def due(config: Config, state: str, now: datetime) -> list[str]:
    """The scheduled tasks that fired since the last `tick` (none on the first: it only
    notes the time), for a server without systemd: cron runs `tick` every minute."""
    from .schedule import fired_between

    mark = Path(state) / "last-tick"
    try:
        last = records.parse_stamp(mark.read_text().strip())
    except (OSError, ValueError):
        last = None
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text(records.stamp(now) + "\n")
    if last is None:
        return []
    return [name for name, task in sorted(config.tasks.items())
            if task.schedule is not None and fired_between(task.schedule, last, now)]
