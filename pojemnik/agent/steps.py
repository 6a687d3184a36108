"""A task's steps, one after another, under one timeout: each step a command or a pipe of
commands (pipefail: the step fails when any of them does). Every process of a run is in
one new process group, killed whole at the timeout (TERM, then KILL); what they print
goes to the caller as it comes, and is kept for the record."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .config import Step

GRACE = 5.0  # seconds between TERM and KILL at the timeout
TIMED_OUT = 124  # the exit code of a run killed at its timeout, as timeout(1) says
NOT_FOUND = 127


@dataclass
class Outcome:
    exit: int
    output: bytes
    timed_out: bool


class _Group:
    """The run's processes: the first one leads a new process group, the rest join it."""

    def __init__(self, err: int, env: dict[str, str]) -> None:
        self.leader: int | None = None
        self.err = err
        self.env = {**os.environ, **env} if env else None

    def spawn(self, argv: list[str], stdin: int | None, stdout: int) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            argv, stdin=stdin if stdin is not None else subprocess.DEVNULL, stdout=stdout,
            stderr=self.err, close_fds=True, env=self.env,
            process_group=0 if self.leader is None else self.leader)
        if self.leader is None:
            self.leader = process.pid
        return process

    def kill(self, sig: int) -> None:
        if self.leader is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.leader, sig)


def run_steps(steps: list[Step], timeout: float,
              echo: Callable[[bytes], None]) -> Outcome:
    reading, writing = os.pipe()
    kept = bytearray()
    reader = threading.Thread(target=_read, args=(reading, kept, echo), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    code, timed_out = 0, False
    try:
        for step in steps:
            group = _Group(writing, step.env)  # a new group per step: the last one's may be gone
            code, timed_out = _step(group, step.stages, writing, deadline)
            if code != 0 or timed_out:
                break
    finally:
        os.close(writing)
        reader.join(GRACE)
    if timed_out:
        note = f"\n[pojemnik-agent] still running after {timeout:g} s: killed\n".encode()
        echo(note)
        kept += note
        code = TIMED_OUT
    return Outcome(code, bytes(kept), timed_out)


def _step(group: _Group, stages: list[list[str]], out: int,
          deadline: float) -> tuple[int, bool]:
    processes: list[subprocess.Popen[bytes]] = []
    previous: int | None = None
    try:
        for index, argv in enumerate(stages):
            last = index == len(stages) - 1
            read_end, write_end = (None, out) if last else os.pipe()
            try:
                processes.append(group.spawn(argv, previous, write_end))
            finally:
                if previous is not None:
                    os.close(previous)
                if not last:
                    os.close(write_end)
            previous = read_end
    except OSError as error:
        if previous is not None:
            os.close(previous)
        os.write(out, f"[pojemnik-agent] cannot run {argv[0]}: {error.strerror}\n".encode())
        _wait_all(group, processes, deadline)
        return NOT_FOUND, False
    return _wait_all(group, processes, deadline)


def _wait_all(group: _Group, processes: list[subprocess.Popen[bytes]],
              deadline: float) -> tuple[int, bool]:
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(max(deadline - time.monotonic(), 0.01)))
        except subprocess.TimeoutExpired:
            _kill(group, processes)
            return TIMED_OUT, True
    failed = [c for c in codes if c != 0]
    if not failed:
        return 0, False
    code = failed[-1]  # like bash's pipefail: the last command that failed
    return (128 - code if code < 0 else code), False


def _kill(group: _Group, processes: list[subprocess.Popen[bytes]]) -> None:
    group.kill(signal.SIGTERM)
    stop = time.monotonic() + GRACE
    for process in processes:
        try:
            process.wait(max(stop - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            break
    group.kill(signal.SIGKILL)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(GRACE)


def _read(fd: int, kept: bytearray, echo: Callable[[bytes], None]) -> None:
    with os.fdopen(fd, "rb", buffering=0) as stream:
        while chunk := stream.read(65536):
            echo(chunk)
            kept += chunk
            if len(kept) > 65536:
                del kept[:-16384]
