"""`down` on the Swarm target: the project's services removed in reverse dependency order
(each wave's tasks gone before the next wave goes), then its configs, secrets and overlay
networks; volumes (data, on the node each service was pinned to) only with `volumes`, and
only those the manager's engine holds."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ...console import Say
from ...declaration.model import LABEL_PROJECT
from ...engine.backend import Engine
from ...engine.swarm.backend import SwarmBackend
from ...errors import DockerError
from ...planning.swarm.spec import service_of

NETWORK_WAIT = 60.0  # seconds for the removed tasks' endpoints to leave the overlays


def swarm_down(engine: Engine, swarm: SwarmBackend, project: str, say: Say,
               order: Sequence[Sequence[str]], volumes: bool = False,
               sleep: Callable[[float], None] = time.sleep) -> None:
    state = swarm.observe_swarm(project)
    by_service = {service_of(s.labels) or s.name: s.name for s in state.services}
    waves = [[by_service.pop(n) for n in wave if n in by_service] for wave in reversed(order)]
    for wave in [*waves, sorted(by_service.values())]:
        if not wave:
            continue
        say(f"services {', '.join(wave)}: removing (tasks stop gracefully)")
        for name in wave:
            swarm.remove_service(name)
        for name in wave:
            _gone(swarm, name, sleep)
    for name in state.configs:
        swarm.remove_config(name)
    for name in state.secrets:
        swarm.remove_secret(name)
    say(f"configs and secrets removed ({len(state.configs)}, {len(state.secrets)})")
    _networks(engine, say, project, sleep)
    _networks_gone(swarm, project, sleep)
    if volumes:
        for name in engine.remove_volumes(project):
            say(f"volume {name}: removed (data deleted)")
    else:
        say("volumes kept (data is safe); `down --volumes` removes those on the manager")


def _gone(swarm: SwarmBackend, name: str, sleep: Callable[[float], None]) -> None:
    """Until the removed service's tasks are gone (its containers stopped)."""
    deadline = time.monotonic() + NETWORK_WAIT
    while time.monotonic() < deadline:
        try:
            swarm.progress(name)
        except DockerError:
            return  # the service, and so its tasks, are gone
        sleep(0.5)


def _networks(engine: Engine, say: Say, project: str, sleep: Callable[[float], None]) -> None:
    deadline = time.monotonic() + NETWORK_WAIT
    while True:
        try:
            for name in engine.remove_networks(project):
                say(f"network {name}: removed")
            return
        except DockerError:
            if time.monotonic() > deadline:
                raise
            sleep(1.0)  # the last tasks' endpoints are still leaving


def _networks_gone(swarm: SwarmBackend, project: str, sleep: Callable[[float], None]) -> None:
    """A removed overlay leaves the manager's list a moment later: wait, so that a deploy
    right after creates it afresh instead of finding it half gone."""
    deadline = time.monotonic() + NETWORK_WAIT
    while time.monotonic() < deadline and any(
            n.labels.get(LABEL_PROJECT) == project
            for n in swarm.observe_swarm(project).networks):
        sleep(0.5)
