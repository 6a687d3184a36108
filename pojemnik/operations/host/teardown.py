"""`down`: the stack's containers and networks removed; volumes (data) only when asked.

Containers stop in reverse dependency order (the proxy before the sites, the sites
before the database), the services of one wave in parallel, each with its own stop
signal and grace period (given at create: `docker stop` does the same). Containers of
services no longer declared go last.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ...console import Say
from ...engine.backend import ContainerRow, Engine

STOP_WORKERS = 4


def stop_waves(rows: Sequence[ContainerRow], order: Sequence[Sequence[str]]
               ) -> list[list[str]]:
    """Container names in the waves they stop in: the startup order reversed, then the
    containers of services not in it. Pure."""
    waves = []
    for wave in reversed(order):
        names = sorted(r.name for r in rows if r.service in wave)
        if names:
            waves.append(names)
    declared = {name for wave in order for name in wave}
    rest = sorted(r.name for r in rows if r.service not in declared)
    return waves + ([rest] if rest else [])


def down(engine: Engine, project: str, say: Say, volumes: bool = False,
         order: Sequence[Sequence[str]] = ()) -> None:
    """A wave starts stopping once the one before has stopped; removing the stopped
    containers goes on meanwhile."""
    with ThreadPoolExecutor(max_workers=STOP_WORKERS) as removals:
        removed = []
        for wave in stop_waves(engine.project_containers(project), order):
            say(f"containers {', '.join(wave)}: stopping (graceful), removing")
            with ThreadPoolExecutor(max_workers=max(1, min(len(wave), STOP_WORKERS))) as pool:
                for future in [pool.submit(engine.stop, name) for name in wave]:
                    future.result()
            removed += [removals.submit(engine.remove_container, name) for name in wave]
        for future in removed:
            future.result()
    for name in engine.remove_networks(project):
        say(f"network {name}: removed")
    if volumes:
        for name in engine.remove_volumes(project):
            say(f"volume {name}: removed (data deleted)")
    else:
        say("volumes kept (data is safe); `invoke down --volumes` removes them")
