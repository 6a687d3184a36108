"""The engine lock is held from the moment its container is created: the start, which
only arms its self-release, runs beside the task, and release waits for it before it
removes the container. The engine's API is a recorder whose `start` waits to be let go."""

from __future__ import annotations

import threading
from typing import Any

import docker

from pojemnik.engine import lock
from pojemnik.engine.backend import LockHolder


class Connection:
    def shutdown(self, how: int) -> None: ...

    def close(self) -> None: ...


class Recorder(docker.APIClient):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(base_url="unix:///nonexistent.sock", version="1.41")
        self.calls: list[str] = []
        self.go = threading.Event()
        self.removed = False

    def create_container(self, *args: Any, name: str, **kwargs: Any) -> dict[str, str]:
        self.calls.append("create")
        return {"Id": "lock-id"}

    def attach_socket(self, container: str, params: Any = None, ws: bool = False) -> Any:
        self.calls.append("attach")
        return Connection()

    def start(self, container: str) -> None:  # type: ignore[override]
        self.go.wait(timeout=5)  # the runtime making the container's namespaces
        self.calls.append("started")

    def remove_container(self, container: str, force: bool = False, **_: Any) -> None:
        self.calls.append("remove")
        self.removed = True

    def inspect_container(self, container: str) -> dict[str, Any]:
        if self.removed:
            raise docker.errors.NotFound("gone")
        return {"State": {"Status": "running"}, "Config": {"Labels": {}}}


def test_the_lock_is_held_before_its_container_has_started() -> None:
    api = Recorder()
    held = lock.take(api, "demo", "debian:bookworm-slim",
                     LockHolder("me@here", 1, "invoke deploy", "now"))
    assert isinstance(held, lock.HeldLock)
    assert api.calls == ["create", "attach"], "the task waited for the lock's start"
    api.go.set()
    held.release()
    assert api.calls == ["create", "attach", "started", "remove"]


def test_release_waits_for_a_start_still_under_way() -> None:
    api = Recorder()
    held = lock.take(api, "demo", "debian:bookworm-slim",
                     LockHolder("me@here", 1, "invoke deploy", "now"))
    threading.Timer(0.2, api.go.set).start()
    held.release()  # a removal before the start ends would leave a started lock behind
    assert api.calls[-2:] == ["started", "remove"]
