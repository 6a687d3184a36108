"""The project's lock on an engine: one container, `<project>.lock`, that lives as long
as the process holding it, and is taken over once that process is no longer heard from.

Container names are unique on an engine, so creating it is the atomic "take"; a 409
Conflict means someone holds it. It runs `cat` on its standard input with `StdinOnce`
and auto-remove: the holder attaches to that input right after creating it and keeps the
connection open. When the holder exits or is killed, its connection closes (over SSH:
its TCP connection, so the host's sshd ends the session), `cat` reads the end of its
input and exits, and the engine removes the container: such a holder releases the lock
by itself (a lock not started yet, by the next taker's start: below). (The name has a
dot, which no `<project>-<service>` container name has.)

A holder that vanishes without closing its connection (a laptop losing its network)
would keep it open for hours: over SSH the host's sshd keeps the session until TCP gives
up on the peer (about two hours with Linux's defaults; sshd's ClientAliveInterval is off
by default, and the SSH keepalives pojemnik sends only let its own side notice). So the
holder also writes a heartbeat, a newline every HEARTBEAT seconds, to that input; `cat`
echoes it and the engine logs it with its own time. A taker that meets the lock asks
the engine how long it has been silent (since its newest heartbeat, else its start,
else its creation: the engine's clock only, so no two machines' clocks are compared);
one silent for STALE seconds lost its holder, and is removed (by its id, so a lock a
third taker made meanwhile stays) and taken.

The lock is held from the moment the container is created; starting it (the runtime
makes its namespaces: a third of a second of the host's CPU, more on a busy host) only
arms that self-release, so a task does not pay it up front: its first heartbeat starts
the lock (a failed start is tried again with each one), and a task shorter than that (a
no-op deploy) never starts it at all, only creates and removes it. A taker that meets a
"created" lock arms it on the holder's behalf (`arm`): the input of a holder that is
gone was closed, so `cat` ends at once and the engine removes the lock, which the taker
then takes; a living holder's `cat` keeps running, and the taker is refused as before.
A lock its taker could not start is held until it has been "created" for STALE seconds.

On a Swarm the lock also covers the other managers: see `engine.swarm.lock`.

Over SSH the attach connection holds one of the relay's `SESSIONS` channels for the
task's life; every other API request takes one only while it runs (`Connection: close`,
see `over_ssh`), so the others share the rest and never wait on the lock's channel.
"""


from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from datetime import datetime
from typing import Any

import docker
from docker.types import LogConfig

from ..declaration.model import LABEL_KIND, LABEL_PROJECT
from ..errors import DockerError, LockImageMissing
from .backend import LockHolder

LOCK_KIND = "lock"
LABEL_HOLDER = "pojemnik.lock.holder"
LABEL_PID = "pojemnik.lock.pid"
LABEL_COMMAND = "pojemnik.lock.command"
LABEL_SINCE = "pojemnik.lock.since"
HEARTBEAT = 10.0  # seconds between the holder's heartbeats
STALE = 60.0  # seconds of silence after which a lock's holder is taken to be gone
TRYING = 30.0  # seconds of removing stale locks before giving up
ARMING = 2.0  # seconds for a dead holder's lock, once started, to end (a busy host)


def lock_name(project: str) -> str:
    return f"{project}.lock"


class HeldLock:
    """The lock while held: the open attach connection to the lock container's input,
    and the heartbeat written to it (the first one starts the container)."""

    def __init__(self, api: docker.APIClient, name: str, container: str, connection: Any,
                 beat_every: float | None = HEARTBEAT) -> None:
        self.api, self.name, self.container, self.connection = api, name, container, connection
        self.started = threading.Event()
        self.stopping = threading.Event()
        self.beating = threading.Thread(target=self._beat, args=(beat_every,),
                                        name=f"{name} heartbeat", daemon=True)
        self.beating.start()

    def _start(self) -> None:
        with contextlib.suppress(Exception):
            self.api.start(self.container)  # a taker may have started it: 304, no error
            self.started.set()

    def _beat(self, every: float | None) -> None:
        """Every `every` seconds (None: never, for tests of a holder gone silent): start
        the lock if it has not been yet, then a newline to `cat`."""
        sock = getattr(self.connection, "_sock", self.connection)
        while every is not None and not self.stopping.wait(every):
            if not self.started.is_set():
                self._start()
            try:
                sock.sendall(b"\n")
            except OSError:
                return  # the connection is gone: so is the lock

    def release(self) -> None:
        """Close the connection (the engine then removes the container) and remove it now,
        so the next task finds no lock at all. Never raises: the engine cleans up anyway."""
        self.stopping.set()
        self.beating.join()  # a start under way in a heartbeat would race the removal
        sock = getattr(self.connection, "_sock", self.connection)
        if sock is not None:  # None: released before
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        with contextlib.suppress(Exception):
            self.connection.close()  # the wrapper (and the HTTP response) too
        with contextlib.suppress(Exception):
            remove(self.api, self.container)


def take(api: docker.APIClient, project: str, image: str, holder: LockHolder,
         stale_after: float = STALE, beat_every: float | None = HEARTBEAT
         ) -> HeldLock | LockHolder:
    """Hold the lock, or say who does. A lock silent for `stale_after` seconds, or not
    running (nor being started), is stale: removed, then tried again."""
    name = lock_name(project)
    deadline = time.monotonic() + TRYING
    while True:
        try:
            return _create_and_hold(api, name, image, holder, project, beat_every)
        except docker.errors.APIError as error:
            if error.status_code != 409:
                raise
        found = arm(api, _inspect(api, name))
        if found is not None:
            silent = silence(found, last_beat(api, found["Id"]), api.info()["SystemTime"])
            if not is_stale(found["State"]["Status"], silent, stale_after):
                return holder_of(found, silent)
        if time.monotonic() > deadline:
            raise DockerError(f"could not take the lock {name}: it keeps reappearing; "
                              "see `invoke lock`")
        if found is not None:
            remove(api, found["Id"])


def _create_and_hold(api: docker.APIClient, name: str, image: str, holder: LockHolder,
                     project: str, beat_every: float | None) -> HeldLock:
    labels = {LABEL_PROJECT: project, LABEL_KIND: LOCK_KIND, LABEL_HOLDER: holder.who,
              LABEL_PID: str(holder.pid), LABEL_COMMAND: holder.command,
              LABEL_SINCE: holder.since}
    # The heartbeats are read back from the log: json-file whatever the engine's default.
    host_config = api.create_host_config(
        auto_remove=True, network_mode="none", read_only=True, cap_drop=["ALL"],
        security_opt=["no-new-privileges"], mem_limit=16 * 2**20,
        memswap_limit=16 * 2**20, pids_limit=4,
        log_config=LogConfig(type="json-file", config={"max-size": "64k", "max-file": "1"}))
    # detach=False with stdin_open sets StdinOnce: the input closes with our connection.
    try:
        created = api.create_container(
            image, name=name, entrypoint=["cat"], command=[], user="65534:65534",
            stdin_open=True, detach=False, labels=labels, host_config=host_config)
    except docker.errors.ImageNotFound as error:
        raise LockImageMissing(f"the lock's image {image} is not on the engine") from error
    try:
        connection = api.attach_socket(created["Id"], params={"stdin": 1, "stream": 1})
    except BaseException:
        with contextlib.suppress(Exception):
            remove(api, created["Id"])
        raise
    # Held from here; started by the first heartbeat, or by a taker (module docstring).
    return HeldLock(api, name, created["Id"], connection, beat_every)


def _inspect(api: docker.APIClient, ref: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = api.inspect_container(ref)
    except docker.errors.NotFound:
        return None
    return found


def arm(api: docker.APIClient, found: dict[str, Any] | None,
        within: float = ARMING) -> dict[str, Any] | None:
    """A lock never started (its holder's task was short so far): start it, so that it
    shows whether its holder lives, and give its `cat` `within` seconds to read the end
    of a closed input. One started less than `within` seconds ago (by another taker) is
    given the rest of that time too. The lock as it is then (None: gone)."""
    if found is None:
        return None
    state = found["State"]
    if state["Status"] == "created":
        with contextlib.suppress(docker.errors.APIError):
            api.start(found["Id"])  # a holder's heartbeat may start it too: no error
        left = within
    elif state["Status"] == "running":
        left = within - (engine_time(api.info()["SystemTime"]) - engine_time(state["StartedAt"]))
    else:
        return found
    deadline = time.monotonic() + left
    while True:
        now = _inspect(api, found["Id"])
        if now is None or now["State"]["Status"] != "running" or time.monotonic() >= deadline:
            return now
        time.sleep(0.05)


def last_beat(api: docker.APIClient, container: str) -> str | None:
    """The engine's time of the lock's newest heartbeat; None: none yet (or gone)."""
    try:
        line = api.logs(container, stdout=True, stderr=False, timestamps=True, tail=1)
    except docker.errors.APIError:
        return None
    words = line.decode(errors="replace").split()
    return words[0] if words else None


def silence(container: dict[str, Any], beat: str | None, now: str) -> float:
    """Seconds, by the engine's clock (`now`: its SystemTime), since the lock last showed
    its holder alive: its newest heartbeat, else its start, else its creation."""
    state = container["State"]
    started = state.get("StartedAt") if state["Status"] != "created" else None
    return engine_time(now) - engine_time(beat or started or container["Created"])


def is_stale(status: str, silent: float, stale_after: float = STALE) -> bool:
    """Running or being started, and heard from within `stale_after` seconds: held."""
    return status not in ("running", "created") or silent >= stale_after


def engine_time(text: str) -> float:
    """Seconds since the epoch of a time as Docker writes it (RFC 3339, nanoseconds)."""
    match = re.fullmatch(r"(.+T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text.strip())
    if match is None:
        raise DockerError(f"the engine gave a time pojemnik cannot read: {text!r}")
    head, fraction, zone = match.groups()
    return datetime.fromisoformat(head + (fraction or ".0")[:7]
                                  + ("+00:00" if zone == "Z" else zone)).timestamp()


def holder(api: docker.APIClient, project: str) -> LockHolder | None:
    found = arm(api, _inspect(api, lock_name(project)))
    if found is None or found["State"]["Status"] in ("exited", "removing"):
        return None  # its holder was gone (auto-remove: the engine removes it)
    return holder_of(found, silence(found, last_beat(api, found["Id"]),
                                    api.info()["SystemTime"]))


def holder_of(container: dict[str, Any], silent: float | None = None) -> LockHolder:
    labels = container["Config"].get("Labels") or {}
    pid = labels.get(LABEL_PID, "")
    return LockHolder(who=labels.get(LABEL_HOLDER, "?"), pid=int(pid) if pid.isdigit() else 0,
                      command=labels.get(LABEL_COMMAND, "?"),
                      since=labels.get(LABEL_SINCE, container.get("Created", "?")),
                      state=container["State"]["Status"], silent=silent)


def remove(api: docker.APIClient, name: str) -> None:
    """Force-remove the lock container (by name or id) and wait (bounded) until it is
    gone."""
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
