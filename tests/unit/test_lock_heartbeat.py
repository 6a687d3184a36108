"""A lock whose holder vanished without closing its connection is taken over: the holder
writes heartbeats, and a taker asks how long the lock has been silent, by the engine's
clock only. The times are given, never waited for; the engine's API is a recorder."""

from __future__ import annotations

import threading
from typing import Any

import docker
import pytest

from pojemnik.engine import lock
from pojemnik.engine.backend import LockHolder
from pojemnik.operations.lock import held_message

CREATED = "2026-11-27T12:00:00.123456789Z"
STARTED = "2026-11-27T12:00:01.5Z"
NEVER = "0001-01-01T00:00:00Z"


def container(status: str, started: str = STARTED) -> dict[str, Any]:
    return {"Id": "old-id", "Created": CREATED,
            "State": {"Status": status, "StartedAt": started},
            "Config": {"Labels": {lock.LABEL_HOLDER: "alice@laptop", lock.LABEL_PID: "42",
                                  lock.LABEL_COMMAND: "fab deploy"}}}


def test_silence_counts_from_the_newest_heartbeat_else_the_start_else_the_creation() -> None:
    running = container("running")
    assert lock.silence(running, "2026-11-27T12:05:00.000000001Z",
                        "2026-11-27T12:05:10.5Z") == pytest.approx(10.5)
    assert lock.silence(running, None, "2026-11-27T12:00:11.5Z") == pytest.approx(10.0)
    # The engine's clock in another zone is the same clock.
    assert lock.silence(running, None, "2026-11-27T13:00:11.5+01:00") == pytest.approx(10.0)
    created = container("created", started=NEVER)
    assert lock.silence(created, None, "2026-11-27T12:00:05.123456Z") == pytest.approx(5.0)


@pytest.mark.parametrize(("status", "silent", "stale"), [
    ("running", 0.0, False), ("running", lock.STALE - 1, False), ("running", lock.STALE, True),
    ("created", 5.0, False), ("created", lock.STALE + 1, True),
    ("exited", 0.0, True), ("removing", 0.0, True), ("dead", 0.0, True)])
def test_a_lock_is_stale_when_silent_too_long_or_not_running(status: str, silent: float,
                                                             stale: bool) -> None:
    assert lock.is_stale(status, silent) is stale


class Socket:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.beats = threading.Semaphore(0)

    def sendall(self, data: bytes) -> None:
        self.sent.append(data)
        self.beats.release()

    def shutdown(self, how: int) -> None: ...

    def close(self) -> None: ...


class Engine(docker.APIClient):  # type: ignore[misc]
    """A lock held by someone (`found`), silent since `beat`, at the engine's time `now`;
    what `take` creates, removes and starts is recorded."""

    def __init__(self, found: dict[str, Any] | None, beat: str | None, now: str) -> None:
        super().__init__(base_url="unix:///nonexistent.sock", version="1.41")
        self.found, self.beat, self.now = found, beat, now
        self.calls: list[str] = []
        self.socket = Socket()
        self.starts_failing = 0

    def create_container(self, *args: Any, name: str, **kwargs: Any) -> dict[str, str]:
        self.calls.append("create")
        if self.found is not None:
            raise docker.errors.APIError("conflict", response=Conflict())
        return {"Id": "new-id"}

    def attach_socket(self, container: str, params: Any = None, ws: bool = False) -> Any:
        return self.socket

    def start(self, container: str) -> None:  # type: ignore[override]
        self.calls.append(f"start {container}")
        if self.starts_failing:
            self.starts_failing -= 1
            raise docker.errors.APIError("the runtime failed")

    def inspect_container(self, container: str) -> dict[str, Any]:
        if self.found is None:
            raise docker.errors.NotFound("gone")
        return self.found

    def logs(self, container: str, **kwargs: Any) -> bytes:
        return f"{self.beat} \n".encode() if self.beat else b""

    def info(self) -> dict[str, Any]:
        return {"SystemTime": self.now}

    def remove_container(self, container: str, force: bool = False, **_: Any) -> None:
        self.calls.append(f"remove {container}")
        if container == "old-id":
            self.found = None


class Conflict:
    status_code = 409
    reason = "Conflict"
    url = ""


def me() -> LockHolder:
    return LockHolder("me@here", 1, "fab images.push", "now")


def test_a_lock_heard_from_lately_is_held() -> None:
    engine = Engine(container("running"), "2026-11-27T12:30:00Z", "2026-11-27T12:30:20Z")
    found = lock.take(engine, "demo", "debian:bookworm-slim", me())
    assert isinstance(found, LockHolder)
    assert (found.who, found.pid, found.silent) == ("alice@laptop", 42, pytest.approx(20.0))
    assert "last heard from 20 s ago" in held_message("demo", found, "local")
    assert engine.calls == ["create"]


def test_a_lock_silent_too_long_is_removed_by_its_id_and_taken() -> None:
    engine = Engine(container("running"), "2026-11-27T12:30:00Z", "2026-11-27T12:31:00Z")
    held = lock.take(engine, "demo", "debian:bookworm-slim", me(), beat_every=None)
    assert isinstance(held, lock.HeldLock)
    held.release()
    # No heartbeat here, so the new lock is never started: created, then removed.
    assert engine.calls == ["create", "remove old-id", "create", "remove new-id"]


def test_the_holder_beats_its_first_beat_starts_the_lock_and_a_failed_start_is_retried(
        ) -> None:
    engine = Engine(None, None, CREATED)
    engine.starts_failing = 1
    held = lock.take(engine, "demo", "debian:bookworm-slim", me(), beat_every=0.01)
    assert isinstance(held, lock.HeldLock)
    for _ in range(2):
        assert engine.socket.beats.acquire(timeout=30), "no heartbeat"
    held.release()
    assert set(engine.socket.sent) == {b"\n"}
    assert engine.calls[:3] == ["create", "start new-id", "start new-id"]
    assert engine.calls[-1] == "remove new-id"
