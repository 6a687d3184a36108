"""The project's `agent.json`: what the agent runs, read and checked before anything runs.

    {"project": P, "lock_image": IMAGE,
     "tasks": {NAME: {"steps": [{"argv": [...]} | {"pipe": [[...], [...]]}, (+ "env")],
                      "timeout": SECONDS, "schedule": "daily" | null,
                      "backoff": {"first": S, "max": S} | null, "lock": true,
                      "lock_wait": SECONDS}},
     ...}

Other top-level keys belong to other capabilities (alerts' "checks", "channels") and are
left to them. Written by `operations/server/agent.py` from the declaration.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .schedule import ScheduleError, parse

NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
LOCK_WAIT = 300.0  # seconds a task waits for the deploy lock by default


class AgentError(Exception):
    """Something the agent cannot do; the message says where and what to fix."""


@dataclass(frozen=True)
class Step:
    stages: list[list[str]]  # a pipe of one or more argv (one: a plain command)
    env: dict[str, str]  # added to the agent's environment (values kept out of argv)


@dataclass(frozen=True)
class Task:
    name: str
    steps: list[Step]
    timeout: float
    schedule: str | None
    backoff: tuple[float, float] | None  # (first, max) seconds
    lock: bool
    lock_wait: float


@dataclass(frozen=True)
class Config:
    path: str
    project: str
    lock_image: str
    tasks: dict[str, Task]
    raw: dict[str, Any]

    def task(self, name: str) -> Task:
        if name not in self.tasks:
            known = ", ".join(sorted(self.tasks)) or "none"
            raise AgentError(f"{self.path}: no task {name!r} (declared: {known})")
        return self.tasks[name]


def load(path: str) -> Config:
    try:
        raw = json.loads(Path(path).read_text())
    except OSError as error:
        raise AgentError(f"cannot read the agent's config {path}: {error.strerror}; "
                         "`invoke agent.install` writes it") from error
    except ValueError as error:
        raise AgentError(f"{path} is not JSON ({error}); `invoke agent.install` "
                         "rewrites it") from error
    return from_dict(raw, path)


def from_dict(raw: Any, path: str = "agent.json") -> Config:
    if not isinstance(raw, dict):
        raise AgentError(f"{path}: expected an object at the top")
    project, image = raw.get("project"), raw.get("lock_image")
    if not isinstance(project, str) or not project:
        raise AgentError(f"{path}: project: expected the project's name")
    if not isinstance(image, str) or not image:
        raise AgentError(f"{path}: lock_image: expected an image on the engine")
    tasks = raw.get("tasks", {})
    if not isinstance(tasks, dict):
        raise AgentError(f"{path}: tasks: expected an object of tasks by name")
    return Config(path, project, image,
                  {name: _task(path, name, body) for name, body in tasks.items()}, raw)


def _task(path: str, name: str, body: Any) -> Task:
    where = f"{path}: tasks.{name}"
    if not NAME.fullmatch(str(name)):
        raise AgentError(f"{where}: a task's name is lowercase letters, digits, . _ -")
    if not isinstance(body, dict):
        raise AgentError(f"{where}: expected an object")
    steps = body.get("steps")
    if not isinstance(steps, list) or not steps:
        raise AgentError(f"{where}.steps: expected a list of at least one step")
    timeout = body.get("timeout")
    if not _positive(timeout):
        raise AgentError(f"{where}.timeout: expected seconds above 0, not {timeout!r}")
    schedule = body.get("schedule")
    if schedule is not None:
        try:
            parse(schedule)
        except ScheduleError as error:
            raise AgentError(f"{where}.schedule: {error}") from error
    lock_wait: float = body.get("lock_wait", LOCK_WAIT)
    if not _positive(lock_wait) and lock_wait != 0:
        raise AgentError(f"{where}.lock_wait: expected seconds, not {lock_wait!r}")
    return Task(str(name), [_step(f"{where}.steps[{i}]", s) for i, s in enumerate(steps)],
                float(timeout or 0), schedule, _backoff(where, body.get("backoff")),
                bool(body.get("lock", True)), float(lock_wait))


def _step(where: str, step: Any) -> Step:
    kind = set(step) - {"env"} if isinstance(step, dict) else set()
    if kind == {"argv"}:
        stages = [step["argv"]]
    elif kind == {"pipe"} and isinstance(step["pipe"], list):
        stages = step["pipe"]
    else:
        raise AgentError(f'{where}: expected {{"argv": [...]}} or {{"pipe": [[...], ...]}}'
                         ' (and "env": {...})')
    if not stages or not all(isinstance(s, list) and s and all(isinstance(a, str) for a in s)
                             for s in stages):
        raise AgentError(f"{where}: each command is a non-empty list of strings")
    env = step.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                            for k, v in env.items()):
        raise AgentError(f"{where}.env: expected an object of strings")
    return Step([list(s) for s in stages], dict(env))


def _backoff(where: str, value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not _positive(value.get("first")) or \
            not _positive(value.get("max")) or value["max"] < value["first"]:
        raise AgentError(f'{where}.backoff: expected {{"first": S, "max": S}} with '
                         "0 < first <= max, or null")
    return float(value["first"]), float(value["max"])


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
