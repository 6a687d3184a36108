"""`down`: the stack's containers and networks removed; volumes (data) only when asked.

Containers stop in reverse dependency order (the proxy before the sites, the sites
before the database), the services of one wave in parallel, each with its own stop
signal and grace period (given at create: `docker stop` does the same); a wave once the
one before has exited (`engine/exits.py`). Containers of services no longer declared go
last.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ...console import Say
from ...engine.backend import ContainerRow, Engine


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
    """A wave starts stopping once every container of the one before has exited (its
    processes ended: it serves nothing any more); the engine's own clean-up of a stopped
    container (endpoints, mounts) and its removal go on meanwhile."""
    waves = stop_waves(engine.project_containers(project), order)
    exits = engine.watch_exits(project)
    try:
        with ThreadPoolExecutor(max_workers=max(1, sum(len(w) for w in waves))) as pool:
            gone: list[Future[None]] = []
            for wave in waves:
                say(f"containers {', '.join(wave)}: stopping (graceful), removing")
                stopping = {name: pool.submit(_stop_and_remove, engine, name)
                            for name in wave}
                gone += stopping.values()
                for name, future in stopping.items():
                    while not (exits.wait(name, 0.05) or future.done()):
                        pass
                    if future.done():
                        future.result()  # a failed stop fails `down` here, before the next
            for future in gone:
                future.result()
    finally:
        exits.close()
    for name in engine.remove_networks(project):
        say(f"network {name}: removed")
    if volumes:
        for name in engine.remove_volumes(project):
            say(f"volume {name}: removed (data deleted)")
    else:
        say("volumes kept (data is safe); `invoke down --volumes` removes them")


def _stop_and_remove(engine: Engine, name: str) -> None:
    engine.stop(name)
    engine.remove_container(name)
