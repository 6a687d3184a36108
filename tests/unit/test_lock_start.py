"""The engine lock is held from the moment its container is created: a task never waits
for its start, which only arms its self-release. The holder's first heartbeat starts it
(a short task never does); release waits for a start under way before it removes the
container; a taker that meets a lock never started starts it, to learn whether its
holder lives. The engine's API is a recorder whose `start` waits to be let go."""

from __future__ import annotations

import threading
from typing import Any

import docker
import pytest

from pojemnik.engine import lock
from pojemnik.engine.backend import LockHolder


class Connection:
    def sendall(self, data: bytes) -> None: ...

    def shutdown(self, how: int) -> None: ...

    def close(self) -> None: ...


class Recorder(docker.APIClient):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(base_url="unix:///nonexistent.sock", version="1.41")
        self.calls: list[str] = []
        self.go, self.entered = threading.Event(), threading.Event()
        self.removed = False

    def create_container(self, *args: Any, name: str, **kwargs: Any) -> dict[str, str]:
        self.calls.append("create")
        return {"Id": "lock-id"}

    def attach_socket(self, container: str, params: Any = None, ws: bool = False) -> Any:
        self.calls.append("attach")
        return Connection()

    def start(self, container: str) -> None:  # type: ignore[override]
        self.entered.set()
        self.go.wait(timeout=5)  # the runtime making the container's namespaces
        self.calls.append("started")

    def remove_container(self, container: str, force: bool = False, **_: Any) -> None:
        self.calls.append("remove")
        self.removed = True

    def inspect_container(self, container: str) -> dict[str, Any]:
        if self.removed:
            raise docker.errors.NotFound("gone")
        return {"State": {"Status": "running"}, "Config": {"Labels": {}}}


def me() -> LockHolder:
    return LockHolder("me@here", 1, "invoke deploy", "now")


def test_a_task_shorter_than_a_heartbeat_never_starts_its_lock() -> None:
    api = Recorder()
    held = lock.take(api, "demo", "debian:bookworm-slim", me())
    assert isinstance(held, lock.HeldLock)
    assert api.calls == ["create", "attach"]
    held.release()
    assert api.calls == ["create", "attach", "remove"]


def test_the_first_heartbeat_starts_the_lock_and_release_waits_for_it() -> None:
    api = Recorder()
    held = lock.take(api, "demo", "debian:bookworm-slim", me(), beat_every=0.01)
    assert isinstance(held, lock.HeldLock)
    assert api.calls == ["create", "attach"], "the task waited for the lock's start"
    assert api.entered.wait(timeout=30), "no heartbeat started the lock"
    threading.Timer(0.2, api.go.set).start()
    held.release()  # a removal before the start ends would leave a started lock behind
    assert api.calls == ["create", "attach", "started", "remove"]


class Met(docker.APIClient):  # type: ignore[misc]
    """An engine holding someone's lock, never started; `ends`: its holder is gone, so
    its `cat` ends (and the engine removes it) once started."""

    def __init__(self, ends: bool) -> None:
        super().__init__(base_url="unix:///nonexistent.sock", version="1.41")
        self.ends, self.status = ends, "created"
        self.calls: list[str] = []

    def create_container(self, *args: Any, name: str, **kwargs: Any) -> dict[str, str]:
        self.calls.append("create")
        if self.status != "gone":
            raise docker.errors.APIError("conflict", response=Conflict())
        return {"Id": "new-id"}

    def attach_socket(self, container: str, params: Any = None, ws: bool = False) -> Any:
        return Connection()

    def start(self, container: str) -> None:  # type: ignore[override]
        self.calls.append(f"start {container}")
        self.status = "gone" if self.ends else "running"

    def inspect_container(self, container: str) -> dict[str, Any]:
        if self.status == "gone":
            raise docker.errors.NotFound("gone")
        return {"Id": "old-id", "Created": "2026-11-27T12:00:00Z",
                "State": {"Status": self.status, "StartedAt": "2026-11-27T12:00:01Z"},
                "Config": {"Labels": {lock.LABEL_HOLDER: "alice@laptop",
                                      lock.LABEL_PID: "42"}}}

    def logs(self, container: str, **kwargs: Any) -> bytes:
        return b""

    def info(self) -> dict[str, Any]:
        return {"SystemTime": "2026-11-27T12:00:02Z"}

    def remove_container(self, container: str, force: bool = False, **_: Any) -> None:
        self.calls.append(f"remove {container}")


class Conflict:
    status_code = 409
    reason = "Conflict"
    url = ""


def test_a_lock_never_started_whose_holder_is_gone_is_started_by_the_taker_and_taken(
        ) -> None:
    api = Met(ends=True)
    held = lock.take(api, "demo", "debian:bookworm-slim", me(), beat_every=None)
    assert isinstance(held, lock.HeldLock)
    held.release()
    assert api.calls == ["create", "start old-id", "create", "remove new-id"]


@pytest.mark.parametrize("show", [False, True])
def test_a_lock_never_started_whose_holder_lives_stays_held(show: bool) -> None:
    api = Met(ends=False)
    found = (lock.holder(api, "demo") if show
             else lock.take(api, "demo", "debian:bookworm-slim", me()))
    assert isinstance(found, LockHolder) and found.who == "alice@laptop"
    assert found.state == "running"
    assert [c for c in api.calls if c.startswith("start")] == ["start old-id"]
    assert not [c for c in api.calls if c.startswith("remove")]
