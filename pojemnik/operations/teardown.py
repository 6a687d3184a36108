"""`down`: the stack's containers and networks removed; volumes (data) only when asked."""

from __future__ import annotations

from ..console import Say
from ..engine.backend import Engine


def down(engine: Engine, project: str, say: Say, volumes: bool = False) -> None:
    for row in engine.project_containers(project):
        say(f"container {row.name}: removing")
        engine.remove_container(row.name)
    for name in engine.remove_networks(project):
        say(f"network {name}: removed")
    if volumes:
        for name in engine.remove_volumes(project):
            say(f"volume {name}: removed (data deleted)")
    else:
        say("volumes kept (data is safe); `invoke down --volumes` removes them")
