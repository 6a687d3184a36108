"""Taking the project's lock, with a fake engine: who is refused, with what message,
which image runs the lock, and a dead holder on this machine waited for."""

from __future__ import annotations

from typing import Any

import pytest

from pojemnik import Stack
from pojemnik.engine.backend import LockHolder
from pojemnik.errors import LockImageMissing, OperationError
from pojemnik.operations import lock


class Held:
    released = False

    def release(self) -> None:
        self.released = True


class FakeEngine:
    where = "local"

    def __init__(self, holders: list[LockHolder | None], images: dict[str, str]) -> None:
        self.holders = holders  # one per take_lock call; None: it is free
        self.images = images
        self.asked: list[tuple[str, str, LockHolder]] = []

    def image_ids(self) -> dict[str, str]:
        return self.images

    def take_lock(self, project: str, image: str, holder: LockHolder,
                  cluster: bool = False) -> Any:
        self.asked.append((project, image, holder))
        if image not in self.images:
            raise LockImageMissing(image)
        found = self.holders.pop(0)
        return found if found is not None else Held()


def other(pid: int = 4242, who: str = "alice@laptop") -> LockHolder:
    return LockHolder(who, pid, "invoke deploy", "2026-11-27 12:00:00 UTC")


def test_a_free_lock_is_taken_with_this_process_as_holder(stack: Stack) -> None:
    engine = FakeEngine([None], {"debian:bookworm-slim": "sha256:base"})
    held = lock.take_lock(engine, stack, print, "invoke deploy")  # type: ignore[arg-type]
    assert isinstance(held, Held)
    project, image, me = engine.asked[0]
    assert (project, image, me.command) == ("demo", "debian:bookworm-slim", "invoke deploy")
    assert "@" in me.who and me.pid > 0 and me.since.endswith("UTC")


def test_a_held_lock_refuses_with_who_and_since(stack: Stack) -> None:
    engine = FakeEngine([other()], {"debian:bookworm-slim": "sha256:base"})
    with pytest.raises(OperationError) as refused:
        lock.take_lock(engine, stack, print, "invoke down")  # type: ignore[arg-type]
    message = str(refused.value)
    assert "demo is locked on the local engine" in message
    assert "alice@laptop" in message and "pid 4242" in message
    assert "`invoke deploy`" in message and "since 2026-11-27 12:00:00 UTC" in message
    assert "lock --release" in message
    # Only an ended or killed holder's lock goes away at once; a vanished machine's is
    # taken over once silent long enough.
    assert "a lock whose process died goes away by itself" not in message
    assert "vanished (lost its network) is taken over once it has been silent for 60 s" \
        in message
    assert len(engine.asked) == 1  # someone else's process: no waiting


def test_a_dead_holder_on_this_machine_is_waited_for(stack: Stack) -> None:
    dead = lock.this_process("invoke deploy")
    dead = LockHolder(dead.who, 2**22 + 12345, dead.command, dead.since)  # no such pid
    engine = FakeEngine([dead, dead, None], {"debian:bookworm-slim": "sha256:base"})
    assert isinstance(lock.take_lock(engine, stack, print, "invoke deploy"),  # type: ignore[arg-type]
                      Held)
    assert len(engine.asked) == 3


def test_the_lock_runs_on_a_stack_image_when_the_base_is_gone(stack: Stack) -> None:
    engine = FakeEngine([None], {"demo/php:latest": "sha256:php"})
    lock.take_lock(engine, stack, print, "invoke down")  # type: ignore[arg-type]
    # The base image is tried first, without listing the engine's images.
    assert [image for _, image, _ in engine.asked] == ["debian:bookworm-slim",
                                                       "demo/php:latest"]


def test_bootstrap_locks_only_where_the_lock_can_run(stack: Stack) -> None:
    """An engine with none of the lock's images runs no lock: `take_lock_if_any` goes on
    unlocked, unless a lock container is there anyway; with an image, it takes the lock."""
    engine = FakeEngine([], {})
    engine.lock_holder = lambda project, cluster: None  # type: ignore[attr-defined]
    assert isinstance(lock.take_lock_if_any(engine, stack, print, "fab server.bootstrap"),  # type: ignore[arg-type]
                      lock.Unlocked)
    assert engine.asked == []
    engine.lock_holder = lambda project, cluster: other()  # type: ignore[attr-defined]
    with pytest.raises(OperationError, match="demo is locked on the local engine"):
        lock.take_lock_if_any(engine, stack, print, "fab server.bootstrap")  # type: ignore[arg-type]
    engine = FakeEngine([other()], {"demo/php:latest": "sha256:php"})
    with pytest.raises(OperationError, match="alice@laptop"):
        lock.take_lock_if_any(engine, stack, print, "fab server.bootstrap")  # type: ignore[arg-type]
    assert engine.asked[0][1] == "demo/php:latest"
