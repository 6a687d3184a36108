"""`run` and `exec`: a command in a new container of a service, or in the live one."""

from __future__ import annotations

from ...declaration.model import Stack
from ...engine.backend import Engine
from ...errors import PojemnikError
from ...planning.oneoff import exec_command, oneoff_spec
from ...planning.state import ObservedContainer
from . import _terminal


def run_command(stack: Stack, engine: Engine, service: str, command: str, tty: bool) -> int:
    """COMMAND once in a new container of SERVICE (its networks, environment, secrets and
    mounts, from the image the live container runs, else the service's tag); removed
    afterwards, also on Ctrl-C. Returns the command's exit code."""
    live = _live(stack, engine, service)
    image = live.image if live is not None else None
    if image is None and stack.image_ref(stack.service(service)) not in engine.image_ids():
        raise PojemnikError(f"no image for {service!r} on {engine.where}: "
                            "`invoke deploy` (or `invoke images.build`) makes it")
    spec = oneoff_spec(stack, service, command, image=image)
    interactive = _terminal.wants_tty(tty)
    with _terminal.raw_terminal(interactive):
        return engine.run_once(spec, _terminal.session(interactive))


def exec_in_service(stack: Stack, engine: Engine, service: str, command: str,
                    tty: bool) -> int:
    """COMMAND in SERVICE's running container (`docker exec`); its exit code."""
    live = _live(stack, engine, service)
    if live is None or live.state != "running":
        state = "does not exist" if live is None else f"is {live.state}"
        raise PojemnikError(f"{stack.container_name(service)} {state} on {engine.where}: "
                            f"`invoke deploy` starts it (or `invoke run {service} ...` runs "
                            "the command in a new container)")
    interactive = _terminal.wants_tty(tty)
    with _terminal.raw_terminal(interactive):
        return engine.exec_live(live.name, exec_command(command),
                                _terminal.session(interactive))


def _live(stack: Stack, engine: Engine, service: str) -> ObservedContainer | None:
    name = stack.container_name(service)
    observed = engine.observe(stack.project, [])
    return next((c for c in observed.containers if c.name == name), None)
