"""Waiting until a Swarm service converged: its tasks run (and are healthy: Swarm reports a
task with a health check as running only once it passed), as many as declared, on the
declared image; an update finished, or rolled back by Swarm itself.

Progress is said whenever it changes ("app: 1/2 running; starting on worker"). A rolled
back update fails the deploy once the rollback is done (the previous version serves),
with the failed tasks' errors; so does a service that does not converge in time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ...console import Say
from ...engine.swarm.backend import ServiceProgress, SwarmBackend
from ...errors import DockerError, OperationError
from ...planning.swarm.spec import ServiceSpec

POLL = 0.5  # seconds between looks at the service's tasks
LOOKS = 5  # tries of one look before a lost connection fails the deploy
ROLLED_BACK = ("rollback_completed", "rollback_paused")
FAILED = ("failed", "rejected", "shutdown", "orphaned")


class RolledBack(OperationError):
    """The new version failed; Swarm rolled the service back to the previous one."""


@dataclass
class Waiter:
    swarm: SwarmBackend
    say: Say
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def converged(self, spec: ServiceSpec, timeout: float, started: str = "") -> str:
        """Until the service converged; `started`: when its last update had started before
        this one was asked for (a rollback since then is this update's)."""
        deadline = self.clock() + timeout
        last = ""
        while True:
            progress = self._look(spec.name, deadline)
            line = describe(spec, progress)
            if line != last:
                self.say(f"service {spec.name}: {line}")
                last = line
            fresh = progress.update_started != started
            if fresh and progress.update_state in ROLLED_BACK and (
                    serving(progress) or self.clock() > deadline):
                raise RolledBack(rolled_back(spec, progress))
            if done(spec, progress, fresh):
                return line
            if self.clock() > deadline:
                raise OperationError(f"service {spec.name} did not converge within "
                                     f"{timeout:.0f} s: {line}{errors_of(progress)}")
            self.sleep(POLL)


    def _look(self, name: str, deadline: float) -> ServiceProgress:
        """The service's progress; a look that fails (a connection lost under load) is
        taken again, a few times, before the deploy fails."""
        for attempt in range(LOOKS):
            try:
                return self.swarm.progress(name)
            except DockerError:
                if attempt == LOOKS - 1 or self.clock() > deadline:
                    raise
                self.sleep(POLL * (attempt + 1))
        raise AssertionError("unreachable")


def done(spec: ServiceSpec, progress: ServiceProgress, fresh: bool) -> bool:
    """Its tasks run, as many as declared, made from its current spec; an update that
    started since it was asked for has completed."""
    if fresh and progress.update_state not in ("", "completed"):
        return False
    current = progress.current()
    running = [t for t in current if t.state == "running"]
    if len(running) != len(current) or not all(t.up_to_date for t in running):
        return False
    return len(running) == spec.tasks if spec.tasks is not None else bool(running)


def serving(progress: ServiceProgress) -> bool:
    """After a rollback: the previous version's tasks all run again."""
    current = progress.current()
    return bool(current) and all(t.state == "running" and t.up_to_date for t in current)


def describe(spec: ServiceSpec, progress: ServiceProgress) -> str:
    current = progress.current()
    running = [t for t in current if t.state == "running"]
    wanted = spec.tasks if spec.tasks is not None else len(current)
    text = f"{len(running)}/{wanted} running"
    if running:
        text += " (" + ", ".join(sorted(t.node for t in running)) + ")"
    others = [f"{t.state} on {t.node or '?'}" for t in current if t.state != "running"]
    if others:
        text += "; " + ", ".join(others)
    if progress.update_state:
        text += f"; update {progress.update_state}"
    return text


def rolled_back(spec: ServiceSpec, progress: ServiceProgress) -> str:
    return (f"service {spec.name}: the new version failed, so Swarm rolled it back by itself: "
            f"the previous version serves ({progress.update_message or 'no message'})."
            f"{errors_of(progress)}\nFix what failed and deploy again (the plan shows the "
            "update again).")


def errors_of(progress: ServiceProgress) -> str:
    """The failed tasks' reasons, newest first, each once."""
    seen: list[str] = []
    for task in progress.tasks:
        if task.state in FAILED and (task.error or task.message):
            reason = f"{task.state} on {task.node or '?'}: {task.error or task.message}"
            if reason not in seen:
                seen.append(reason)
    return "".join(f"\n  task {reason}" for reason in seen[:5])
