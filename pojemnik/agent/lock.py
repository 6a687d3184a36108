"""The project's deploy lock, taken through the `docker` command: the protocol of
`engine/lock.py`, so an `invoke deploy` and the agent never run at once.

The lock is the container `<project>.lock` running `cat` on its input (StdinOnce,
auto-remove): creating it is the atomic take; the holder keeps its input open (`docker
start -ai`) and writes a heartbeat, a newline every 10 s, which the engine logs with its
own time. Its end closes the input, `cat` ends and the engine removes it. A lock found
silent for 60 s (by the engine's clock), or never started and still not running once
started here, lost its holder: it is removed by its id and taken. Any other is waited
for, up to the task's `lock_wait`, then the run fails naming the holder.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime
from typing import Any

HEARTBEAT = 10.0
STALE = 60.0
ARMING = 2.0
POLL = 1.0  # seconds between looks at a held lock
DOCKER = "docker"


class LockBusy(Exception):
    """Held by someone else for longer than the wait; the message names the holder."""


class LockFailed(Exception):
    """The engine refused something else (no image, no engine)."""


def docker(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)


class Held:
    """The lock while held: `docker start -ai` on it, fed a heartbeat."""

    def __init__(self, container: str, attached: subprocess.Popen[bytes]) -> None:
        self.container, self.attached = container, attached
        self.stopping = threading.Event()
        self.beating = threading.Thread(target=self._beat, daemon=True)
        self.beating.start()

    def _beat(self) -> None:
        while not self.stopping.wait(HEARTBEAT):
            try:
                assert self.attached.stdin is not None
                self.attached.stdin.write(b"\n")
                self.attached.stdin.flush()
            except (OSError, ValueError):
                return

    def release(self) -> None:
        self.stopping.set()
        self.beating.join()
        with contextlib.suppress(OSError, ValueError):
            assert self.attached.stdin is not None
            self.attached.stdin.close()
        try:
            self.attached.wait(10)
        except subprocess.TimeoutExpired:
            self.attached.kill()
            self.attached.wait()
        docker("rm", "-f", self.container)


def holder_labels(command: str) -> dict[str, str]:
    return {"pojemnik.lock.holder": f"pojemnik-agent@{socket.gethostname()}",
            "pojemnik.lock.pid": str(os.getpid()), "pojemnik.lock.command": command,
            "pojemnik.lock.since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}


def take(project: str, image: str, command: str, wait: float, say: Any) -> Held:
    """The lock, held; LockBusy after `wait` seconds of someone else holding it."""
    deadline = time.monotonic() + wait
    said = False
    while True:
        held = _create(project, image, command)
        if held is not None:
            return held
        found = _arm(_inspect(f"{project}.lock"))
        if found is None:
            continue
        silent = silence(found)
        if found["State"]["Status"] not in ("running", "created") or silent >= STALE:
            docker("rm", "-f", found["Id"])
            continue
        who = describe(found, silent)
        if time.monotonic() >= deadline:
            raise LockBusy(f"the deploy lock of {project} is held by {who}; waited "
                           f"{wait:g} s (the task's lock_wait)")
        if not said:
            say(f"waiting (at most {wait:g} s) for the deploy lock of {project}, held by {who}")
            said = True
        time.sleep(POLL)


def _create(project: str, image: str, command: str) -> Held | None:
    labels = {"pojemnik.project": project, "pojemnik.kind": "lock", **holder_labels(command)}
    created = docker(
        "container", "create", "-i", "--rm", "--name", f"{project}.lock",
        "--entrypoint", "cat", "--network", "none", "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--memory", "16m", "--memory-swap", "16m",
        "--pids-limit", "4", "--user", "65534:65534", "--log-driver", "json-file",
        "--log-opt", "max-size=64k", "--log-opt", "max-file=1",
        *[f"--label={k}={v}" for k, v in sorted(labels.items())], image)
    if created.returncode != 0:
        if "Conflict" in created.stderr or "already in use" in created.stderr:
            return None
        raise LockFailed(f"cannot create the deploy lock {project}.lock: "
                         f"{created.stderr.strip() or created.stdout.strip()}")
    container = created.stdout.strip()
    attached = subprocess.Popen([DOCKER, "start", "-ai", container], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Held(container, attached)


def _inspect(ref: str) -> dict[str, Any] | None:
    found = docker("container", "inspect", ref)
    if found.returncode != 0:
        return None
    rows = json.loads(found.stdout or "[]")
    return rows[0] if rows else None


def _arm(found: dict[str, Any] | None) -> dict[str, Any] | None:
    """A lock never started: start it, so a holder that is gone lets it end."""
    if found is None or found["State"]["Status"] != "created":
        return found
    docker("start", found["Id"])
    stop = time.monotonic() + ARMING
    while True:
        now = _inspect(found["Id"])
        if now is None or now["State"]["Status"] != "running" or time.monotonic() >= stop:
            return now
        time.sleep(0.05)


def silence(found: dict[str, Any]) -> float:
    """Seconds by the engine's clock since the lock showed its holder alive."""
    logs = docker("logs", "--timestamps", "--tail", "1", found["Id"])
    words = logs.stdout.split() if logs.returncode == 0 else []
    state = found["State"]
    started = state.get("StartedAt") if state["Status"] != "created" else None
    now = docker("info", "--format", "{{json .SystemTime}}").stdout.strip().strip('"')
    return engine_time(now) - engine_time(words[0] if words else started or found["Created"])


def engine_time(text: str) -> float:
    match = re.fullmatch(r"(.+T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text.strip())
    if match is None:
        raise LockFailed(f"the engine gave a time the agent cannot read: {text!r}")
    head, fraction, zone = match.groups()
    return datetime.fromisoformat(head + (fraction or ".0")[:7]
                                  + ("+00:00" if zone == "Z" else zone)).timestamp()


def describe(found: dict[str, Any], silent: float) -> str:
    labels = found["Config"].get("Labels") or {}
    return (f"{labels.get('pojemnik.lock.holder', '?')} running "
            f"`{labels.get('pojemnik.lock.command', '?')}` (pid "
            f"{labels.get('pojemnik.lock.pid', '?')}) since "
            f"{labels.get('pojemnik.lock.since', found.get('Created', '?'))}, heard from "
            f"{silent:.0f} s ago")
