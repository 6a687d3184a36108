"""The project's lock: held by the tasks that change the engine; `invoke lock` shows it,
`invoke lock --release` removes it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from invoke import Context, task

from ..console import say
from ..declaration.model import Stack
from .context import engine_of, guard, is_remote, stack_of

if TYPE_CHECKING:
    from ..engine.backend import Engine


def command_line(c: Context) -> str:
    """What the holder runs, for the message a second task gets."""
    return " ".join(["fab" if is_remote(c) else "invoke", *sys.argv[1:]])


@contextmanager
def holding_lock(c: Context, engine: Engine, stack: Stack, wanted: bool = True,
                 image: str | None = None, cluster: bool | None = None) -> Iterator[None]:
    """Hold the project's lock for the body (when `wanted`: not for dry runs), run by
    `image` (default: one the engine has, else the base image, made); `cluster`
    (default: the stack's target is a Swarm): the lock of the manager's whole Swarm.
    Over SSH the lock's attach connection holds one of the relay's channels for the
    whole task; every other request takes one only while it runs."""
    if not wanted:
        yield
        return
    from ..operations.lock import take_lock

    held = guard(lambda: take_lock(engine, stack, say, command_line(c), image, cluster))
    try:
        yield
    finally:
        held.release()


@task(help={"release": "remove the lock, whoever holds it: only when its process is gone"})
def lock(c: Context, release: bool = False) -> None:
    """Show who holds the project's lock (a deploy, build, run or down in progress)."""
    from ..operations.lock import describe

    stack = stack_of(c)
    cluster = stack.target == "swarm"
    with engine_of(c) as engine:
        if release:
            found = guard(lambda: engine.break_lock(stack.project, cluster))
            say(f"{stack.project}: lock released ({describe(found)})" if found
                else f"{stack.project}: not locked")
            return
        holder = guard(lambda: engine.lock_holder(stack.project, cluster))
    say(f"{stack.project}: locked, {describe(holder)}" if holder
        else f"{stack.project}: not locked")
