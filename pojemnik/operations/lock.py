"""One task at a time changes a project on an engine: `deploy`, `rollback`, `images.build`,
`images.push`, `networks.create`, `containers.run`, `data.copy`, `server.bootstrap` and
`down` hold the project's lock while they run.

The lock lives on the engine the task targets (see `engine/lock.py`), so it covers two
checkouts, two people, and a laptop and a CI runner deploying to the same server. A
second task is refused with who holds it; a holder that ends or is killed releases it by
itself.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from datetime import UTC, datetime

from ..console import Say
from ..declaration.model import Stack
from ..engine.backend import Engine, Lock, LockHolder
from ..engine.lock import STALE
from ..errors import LockImageMissing, OperationError
from .images.base import ensure_base

REAPING = 15.0  # seconds to wait for the engine to remove a dead local holder's lock


def this_process(command: str) -> LockHolder:
    return LockHolder(who=f"{getpass.getuser()}@{socket.gethostname()}", pid=os.getpid(),
                      command=command,
                      since=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))


class Unlocked:
    """No lock was needed: no task of this project can hold one on this engine."""

    def release(self) -> None:
        pass


def take_lock(engine: Engine, stack: Stack, say: Say, command: str,
              image: str | None = None, cluster: bool | None = None) -> Lock:
    """The project's lock, held; or OperationError saying who holds it and what to do.
    `image` runs the lock (default: the base image, else `lock_image`, made when the
    engine has none: looked for only then, as listing every image costs a request);
    `cluster` (default: the stack's target is a Swarm): the lock of the whole Swarm."""
    me = this_process(command)
    swarm = stack.target == "swarm" if cluster is None else cluster
    deadline = time.monotonic() + REAPING
    while True:
        try:
            taken = engine.take_lock(stack.project, image or stack.base_image, me,
                                     cluster=swarm)
        except LockImageMissing:
            if image is not None:
                raise
            image = lock_image(engine, stack, say)
            continue
        if not isinstance(taken, LockHolder):
            return taken
        # A holder on this machine whose process is gone: the engine removes its lock
        # as soon as it notices the closed connection.
        if not (_died_here(taken) and time.monotonic() < deadline):
            raise OperationError(held_message(stack.project, taken, engine.where))
        time.sleep(0.3)


def lock_image(engine: Engine, stack: Stack, say: Say) -> str:
    """An image to run the lock's `cat`: the base image, else one of the stack's (all
    are made from it); when none is present the base image is made first, as a deploy
    would."""
    found = present_lock_image(engine, stack)
    if found is not None:
        return found
    ensure_base(engine, stack.base_image, say)
    return stack.base_image


def present_lock_image(engine: Engine, stack: Stack) -> str | None:
    """The base image or one of the stack's, if the engine has one; None: it has none."""
    present = engine.image_ids()
    return next((candidate for candidate in
                 [stack.base_image, *(stack.image_tag(i.name) for i in stack.images)]
                 if candidate in present), None)


def take_lock_if_any(engine: Engine, stack: Stack, say: Say, command: str) -> Lock:
    """The lock, for a task that must not make an image to run it (`server.bootstrap`).
    An engine with none of the lock's images runs no lock of this project (Docker keeps
    the tag of an image a container runs, unless forced): then a lock container found
    anyway refuses, none lets the task go on unlocked."""
    image = present_lock_image(engine, stack)
    if image is not None:
        return take_lock(engine, stack, say, command, image)
    found = engine.lock_holder(stack.project, cluster=stack.target == "swarm")
    if found is not None:
        raise OperationError(held_message(stack.project, found, engine.where))
    return Unlocked()


def held_message(project: str, holder: LockHolder, where: str) -> str:
    return (f"{project} is locked on the {where} engine: {holder.who} is running "
            f"`{holder.command}` (pid {holder.pid}) since {holder.since}{_heard(holder)}. "
            "Wait for it to finish: the lock of a process that ends or is killed goes away "
            "at once, and one whose machine vanished (lost its network) is taken over once "
            f"it has been silent for {STALE:.0f} s. Only if it stays though its process is "
            "gone: `invoke lock --release` (or `fab -H HOST lock --release`).")


def describe(holder: LockHolder) -> str:
    state = "" if holder.state == "running" else f" [lock container {holder.state}]"
    return (f"held by {holder.who}, pid {holder.pid}, `{holder.command}`, "
            f"since {holder.since}{_heard(holder)}{state}")


def _heard(holder: LockHolder) -> str:
    return "" if holder.silent is None else f", last heard from {holder.silent:.0f} s ago"


def _died_here(holder: LockHolder) -> bool:
    if holder.who != f"{getpass.getuser()}@{socket.gethostname()}" or holder.pid <= 0:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
