"""The project's lock on an engine: one container, `<project>.lock`, that lives exactly as
long as the connection of the process holding it.

Container names are unique on an engine, so creating it is the atomic "take"; a 409
Conflict means someone holds it. It runs `cat` on its standard input with `StdinOnce`
and auto-remove: the holder attaches to that input before starting it and keeps the
connection open. When the holder exits or is killed, its connection closes (over SSH:
its TCP connection, so the host's sshd ends the session), `cat` reads the end of its
input and exits, and the engine removes the container: such a holder releases the lock
by itself. (The name has a dot, which no `<project>-<service>` container name has.)

The lock is held from the moment the container is created; starting it (the runtime
makes its namespaces: a third of a second on a busy host) only arms that self-release,
so it runs beside the task's first steps instead of before them. Until it runs, others
see a "created" lock: a taker waits up to STARTING seconds for it to run, then counts it
as stale and removes it, whoever holds it (a start slower than that, or failed, loses
the lock).

What it cannot see: a holder that vanishes without closing its connection (a laptop
that loses its network). Over SSH the host's sshd then keeps the session, and the lock,
until TCP gives up on the peer: about two hours with Linux's defaults.

Over SSH the attach connection holds one of the relay's `SESSIONS` channels for the
task's life; every other API request takes one only while it runs (`Connection: close`,
see `over_ssh`), so the others share the rest and never wait on the lock's channel.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import docker

from ..declaration.model import LABEL_KIND, LABEL_PROJECT
from ..errors import DockerError
from .backend import LockHolder

LOCK_KIND = "lock"
LABEL_HOLDER = "pojemnik.lock.holder"
LABEL_PID = "pojemnik.lock.pid"
LABEL_COMMAND = "pojemnik.lock.command"
LABEL_SINCE = "pojemnik.lock.since"
STARTING = 10.0  # seconds a lock may stay "created" while its taker attaches and starts it
TRYING = 30.0  # seconds of removing stale locks before giving up


def lock_name(project: str) -> str:
    return f"{project}.lock"


class HeldLock:
    """The lock while held: the open attach connection to the lock container's input."""

    def __init__(self, api: docker.APIClient, name: str, connection: Any,
                 starting: threading.Thread) -> None:
        self.api, self.name, self.connection = api, name, connection
        self.starting = starting

    def release(self) -> None:
        """Close the connection (the engine then removes the container) and remove it now,
        so the next task finds no lock at all. Never raises: the engine cleans up anyway."""
        self.starting.join()  # a start still under way would race the removal
        sock = getattr(self.connection, "_sock", self.connection)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
        with contextlib.suppress(Exception):
            self.connection.close()  # the wrapper (and the HTTP response) too
        with contextlib.suppress(Exception):
            remove(self.api, self.name)


def take(api: docker.APIClient, project: str, image: str,
         holder: LockHolder) -> HeldLock | LockHolder:
    """Hold the lock, or say who does. A lock container that is not running (its holder
    died before starting it, or it is being removed) is stale: removed, then tried again."""
    name = lock_name(project)
    deadline = time.monotonic() + TRYING
    while True:
        try:
            return _create_and_hold(api, name, image, holder, project)
        except docker.errors.APIError as error:
            if error.status_code != 409:
                raise
        found = _settled(api, name)
        if found is not None and found["State"]["Status"] == "running":
            return holder_of(found)
        if time.monotonic() > deadline:
            raise DockerError(f"could not take the lock {name}: it keeps reappearing; "
                              "see `invoke lock`")
        if found is not None:
            remove(api, name)


def _create_and_hold(api: docker.APIClient, name: str, image: str, holder: LockHolder,
                     project: str) -> HeldLock:
    labels = {LABEL_PROJECT: project, LABEL_KIND: LOCK_KIND, LABEL_HOLDER: holder.who,
              LABEL_PID: str(holder.pid), LABEL_COMMAND: holder.command,
              LABEL_SINCE: holder.since}
    host_config = api.create_host_config(
        auto_remove=True, network_mode="none", read_only=True, cap_drop=["ALL"],
        security_opt=["no-new-privileges"], mem_limit=16 * 2**20,
        memswap_limit=16 * 2**20, pids_limit=4)
    # detach=False with stdin_open sets StdinOnce: the input closes with our connection.
    created = api.create_container(
        image, name=name, entrypoint=["cat"], command=[], user="65534:65534",
        stdin_open=True, detach=False, labels=labels, host_config=host_config)
    try:
        connection = api.attach_socket(created["Id"], params={"stdin": 1, "stream": 1})
    except BaseException:
        with contextlib.suppress(Exception):
            remove(api, name)
        raise
    # A start that fails leaves a "created" lock: held until release removes it, unless
    # another taker has waited STARTING seconds on it and removed it as stale.
    starting = threading.Thread(target=_start_quietly, args=(api, created["Id"]),
                                name=f"{name} start", daemon=True)
    starting.start()
    return HeldLock(api, name, connection, starting)


def _start_quietly(api: docker.APIClient, container: str) -> None:
    with contextlib.suppress(Exception):
        api.start(container)


def _settled(api: docker.APIClient, name: str) -> dict[str, Any] | None:
    """The lock container once it is past "created" (or has been for STARTING seconds:
    its taker died before starting it); None when it is gone."""
    deadline = time.monotonic() + STARTING
    while True:
        try:
            found: dict[str, Any] = api.inspect_container(name)
        except docker.errors.NotFound:
            return None
        if found["State"]["Status"] != "created" or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def holder(api: docker.APIClient, project: str) -> LockHolder | None:
    try:
        return holder_of(api.inspect_container(lock_name(project)))
    except docker.errors.NotFound:
        return None


def holder_of(container: dict[str, Any]) -> LockHolder:
    labels = container["Config"].get("Labels") or {}
    pid = labels.get(LABEL_PID, "")
    return LockHolder(who=labels.get(LABEL_HOLDER, "?"), pid=int(pid) if pid.isdigit() else 0,
                      command=labels.get(LABEL_COMMAND, "?"),
                      since=labels.get(LABEL_SINCE, container.get("Created", "?")),
                      state=container["State"]["Status"])


def remove(api: docker.APIClient, name: str) -> None:
    """Force-remove the lock container and wait (bounded) until it is gone."""
    with contextlib.suppress(docker.errors.NotFound):
        try:
            api.remove_container(name, force=True)
        except docker.errors.APIError as error:
            if error.status_code != 409:  # 409: its removal is already under way
                raise
    for _ in range(100):
        try:
            api.inspect_container(name)
        except docker.errors.NotFound:
            return
        time.sleep(0.1)
