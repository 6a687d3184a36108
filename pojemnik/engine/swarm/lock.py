"""The project's lock on a Swarm: one for the whole cluster, whichever manager a task
reaches it through (`fab -H m1,m2 deploy` is one deploy, the other refused).

A lock container (`engine/lock.py`) lives on one engine only, so on a Swarm the task
also creates a Swarm config named `<project>.lock`: configs live in the Raft store that
every manager shares, and their names are unique in the cluster, so creating it is an
atomic cluster-wide take (409 Conflict: someone holds it). A config does not go away
when its holder dies, so the holder refreshes it: every HEARTBEAT seconds it updates a
label, and the managers stamp the update (`UpdatedAt`). A taker counts the silence since
that stamp by its manager's clock (managers keep their clocks close: Raft needs them);
a config silent for STALE seconds lost its holder, and is removed, by its id, and taken.

The lock container is still taken first, on the manager the task reaches, and its
manager's node is named on the config: a taker on that manager that got the container
(so its holder has ended: the engine removed it) takes the config over at once, with no
wait for its silence. Release removes the config, then the container.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import docker

from ...declaration.model import LABEL_KIND
from ...errors import DockerError
from .. import lock
from ..backend import LockHolder

LABEL_NODE = "pojemnik.lock.node"
LABEL_BEAT = "pojemnik.lock.beat"


class HeldClusterLock:
    """The cluster's config, refreshed while held, and this manager's lock container."""

    def __init__(self, api: docker.APIClient, config: str, local: lock.HeldLock,
                 beat_every: float | None) -> None:
        self.api, self.config, self.local = api, config, local
        self.stopping = threading.Event()
        self.beating = threading.Thread(target=self._beat, args=(beat_every,), daemon=True,
                                        name=f"{config} heartbeat")
        self.beating.start()

    def _beat(self, every: float | None) -> None:
        beat = 0
        while every is not None and not self.stopping.wait(every):
            beat += 1
            try:
                refresh(self.api, self.config, beat)
            except docker.errors.NotFound:
                return  # removed (`lock --release`): nothing left to refresh
            except (docker.errors.APIError, OSError):
                continue  # a manager busy electing a leader: the next beat tries again

    def release(self) -> None:
        self.stopping.set()
        self.beating.join()
        with contextlib.suppress(Exception):
            self.api.remove_config(self.config)
        self.local.release()


def take(api: docker.APIClient, project: str, image: str, holder: LockHolder,
         stale_after: float = lock.STALE, beat_every: float | None = lock.HEARTBEAT
         ) -> HeldClusterLock | LockHolder:
    """This manager's lock container, then the cluster's config; or who holds either."""
    local = lock.take(api, project, image, holder, stale_after, beat_every)
    if isinstance(local, LockHolder):
        return local
    try:
        taken = _take_config(api, project, holder, stale_after)
    except BaseException:
        local.release()
        raise
    if isinstance(taken, LockHolder):
        local.release()
        return taken
    return HeldClusterLock(api, taken, local, beat_every)


def _take_config(api: docker.APIClient, project: str, holder: LockHolder,
                 stale_after: float) -> str | LockHolder:
    name, node = lock.lock_name(project), _node_id(api)
    # No project label: the deploy's plan would remove it as a config no service uses.
    labels = {LABEL_KIND: lock.LOCK_KIND, LABEL_NODE: node,
              lock.LABEL_HOLDER: holder.who, lock.LABEL_PID: str(holder.pid),
              lock.LABEL_COMMAND: holder.command, lock.LABEL_SINCE: holder.since,
              LABEL_BEAT: "0"}
    for _ in range(10):  # each turn removes a stale config; others may make one meanwhile
        try:
            return str(api.create_config(name, holder.who.encode(), labels=labels)["ID"])
        except docker.errors.APIError as error:
            if error.status_code != 409:
                raise
        found = _inspect(api, name)
        if found is None:
            continue
        silent = silence(found, api.info()["SystemTime"])
        # We hold this manager's lock container: a holder that took its own here is gone.
        mine = (found["Spec"].get("Labels") or {}).get(LABEL_NODE) == node
        if not (mine or silent >= stale_after):
            return holder_of(found, silent)
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_config(found["ID"])
    raise DockerError(f"could not take the Swarm lock {name}: it keeps reappearing; "
                      "see `fab -H MANAGER lock`")


def refresh(api: docker.APIClient, config: str, beat: int) -> None:
    """Update the config's heartbeat label: the managers stamp `UpdatedAt`. (Labels are
    the only part of a config Swarm lets change; the SDK has no call for it.)"""
    found = api.inspect_config(config)
    spec = dict(found["Spec"])
    spec["Labels"] = {**(spec.get("Labels") or {}), LABEL_BEAT: str(beat)}
    response = api._post_json(  # the SDK's own request helper
        api._url("/configs/{0}/update", found["ID"]),
        params={"version": found["Version"]["Index"]}, data=spec)
    api._raise_for_status(response)


def _inspect(api: docker.APIClient, name: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = api.inspect_config(name)
    except docker.errors.NotFound:
        return None
    return found


def _node_id(api: docker.APIClient) -> str:
    return str((api.info().get("Swarm") or {}).get("NodeID") or "")


def silence(config: dict[str, Any], now: str) -> float:
    """Seconds, by the manager's clock, since the config was made or last refreshed."""
    return lock.engine_time(now) - lock.engine_time(config.get("UpdatedAt")
                                                    or config["CreatedAt"])


def holder_of(config: dict[str, Any], silent: float | None = None) -> LockHolder:
    labels = config["Spec"].get("Labels") or {}
    pid = labels.get(lock.LABEL_PID, "")
    return LockHolder(who=labels.get(lock.LABEL_HOLDER, "?"),
                      pid=int(pid) if pid.isdigit() else 0,
                      command=labels.get(lock.LABEL_COMMAND, "?"),
                      since=labels.get(lock.LABEL_SINCE, config.get("CreatedAt", "?")),
                      silent=silent)


def holder(api: docker.APIClient, project: str) -> LockHolder | None:
    """Who holds the cluster's lock (through any manager); None: nobody."""
    found = _inspect(api, lock.lock_name(project))
    if found is None:
        return None
    return holder_of(found, silence(found, api.info()["SystemTime"]))


def remove(api: docker.APIClient, project: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        api.remove_config(lock.lock_name(project))


def break_lock(api: docker.APIClient, project: str, cluster: bool) -> LockHolder | None:
    """`lock --release`: the engine's lock container, and on a Swarm the cluster's config."""
    found = lock.holder(api, project) or (holder(api, project) if cluster else None)
    if found is not None:
        lock.remove(api, lock.lock_name(project))
        if cluster:
            remove(api, project)
    return found
