"""One task at a time changes a project on an engine: `deploy`, `images.build`,
`networks.create`, `containers.run` and `down` hold the project's lock while they run.

The lock lives on the engine the task targets (see `engine/lock.py`), so it covers two
checkouts, two people, and a laptop and a CI runner deploying to the same server. A
second task is refused with who holds it; a holder that died releases it by itself.
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
from ..errors import OperationError
from .base_image import ensure_base

REAPING = 15.0  # seconds to wait for the engine to remove a dead local holder's lock


def this_process(command: str) -> LockHolder:
    return LockHolder(who=f"{getpass.getuser()}@{socket.gethostname()}", pid=os.getpid(),
                      command=command,
                      since=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))


def take_lock(engine: Engine, stack: Stack, say: Say, command: str) -> Lock:
    """The project's lock, held; or OperationError saying who holds it and what to do."""
    image = lock_image(engine, stack, say)
    me = this_process(command)
    deadline = time.monotonic() + REAPING
    while True:
        taken = engine.take_lock(stack.project, image, me)
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
    present = engine.image_ids()
    for candidate in [stack.base_image, *(stack.image_tag(i.name) for i in stack.images)]:
        if candidate in present:
            return candidate
    ensure_base(engine, stack.base_image, say)
    return stack.base_image


def held_message(project: str, holder: LockHolder, where: str) -> str:
    return (f"{project} is locked on the {where} engine: {holder.who} is running "
            f"`{holder.command}` (pid {holder.pid}) since {holder.since}. Wait for it to "
            "finish; a lock whose process died goes away by itself. Only if it stays "
            "though its process is gone: `invoke lock --release` (or `fab -H HOST lock "
            "--release`).")


def describe(holder: LockHolder) -> str:
    state = "" if holder.state == "running" else f" [lock container {holder.state}]"
    return (f"held by {holder.who}, pid {holder.pid}, `{holder.command}`, "
            f"since {holder.since}{state}")


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
