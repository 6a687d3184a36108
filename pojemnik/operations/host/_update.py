"""Replacing a running service's container: start-first for stateless web services,
stop-first (the default) for services with state.

Start-first: the new container starts beside the old one as `<name>-next`, on the
service's other declared addresses; once its health command passes, the proxy's
upstream is switched to it (graceful reload, live when it returns), the old container
drains and stops with its own stop signal and grace period, and the new one takes the
name. Not ready in time: it is removed, and the old one keeps serving, untouched.
"""

from __future__ import annotations

from dataclasses import replace

from ...console import Say
from ...declaration.policy import StopFirst
from ...engine.backend import Engine
from ...errors import DockerError, Refused
from ...planning import plan as p
from ...planning.upstreams import next_name
from .switchboard import Switchboard


class UpdateRefused(Refused):
    """The replacement never became ready; the old container keeps serving."""


class BeforeStepFailed(Refused):
    """A stop-first update's `before` step failed; the old container keeps running."""


def start_first(action: p.Action, engine: Engine, say: Say, board: Switchboard) -> str:
    spec = action.container
    assert spec is not None
    name, new = action.target, next_name(action.target)
    engine.remove_container(new)  # a stray from a killed update, if any
    engine.create_container(replace(spec, name=new))
    try:
        status = engine.wait_ready(new, spec.ready_timeout)
    except DockerError as error:
        engine.remove_container(new)
        raise UpdateRefused(f"{name}: the new container did not become ready, so it is "
                            f"removed and the old one keeps serving (nothing switched).\n"
                            f"{error}", by=f"the readiness check of {new} ({_why(error, new)})",
                            kept=f"{name} (the old container)") from error
    say(f"container {new}: {status}")
    if board.point(spec.service, new):
        say(f"container {name}: no longer in the proxy's upstreams; stopping (graceful)")
    engine.remove_container(name)
    engine.rename(new, name)
    return status


def _why(error: DockerError, name: str) -> str:
    """"its health command did not pass within 5 s", from "<name> is not ready: ..."."""
    first = str(error).splitlines()[0] if str(error) else "not ready"
    return first.removeprefix(f"{name} is not ready: ").rstrip(".")


def stop_first(action: p.Action, engine: Engine, say: Say) -> None:
    """The old container stops before the new one starts (never two on the same data);
    a declared `before` step runs in the old container first."""
    spec = action.container
    assert spec is not None
    policy = spec.update
    if isinstance(policy, StopFirst) and policy.before and \
            engine.state(action.target) == "running":
        say(f"container {action.target}: before the update: {' '.join(policy.before)}")
        code, output = engine.exec(action.target, list(policy.before))
        if code != 0:
            raise BeforeStepFailed(
                f"{action.target}: the pre-update step failed (exit {code}); the old "
                f"container keeps running.\n{output.rstrip()}",
                by=f"the pre-update step `{' '.join(policy.before)}` (exit {code})",
                kept=f"{action.target} (the old container)")
    engine.remove_container(action.target)
    engine.create_container(spec)


def recover(engine: Engine, project: str, say: Say) -> None:
    """After a killed update: a `<name>-next` whose old container is already gone takes
    the name (it was serving). One beside its old container is removed by the plan. A
    release command's one-off container left by a killed deploy is removed: a release runs
    only inside a deploy, which holds the lock this one now holds."""
    rows = engine.project_containers(project)
    names = {row.name for row in rows}
    for row in rows:
        if row.service and row.name.startswith(f"{project}-{row.service}-release-"):
            say(f"container {row.name}: a release command a killed deploy left; removing")
            engine.remove_container(row.name)
            continue
        main = row.name.removesuffix("-next")
        if row.name.endswith("-next") and row.service and main not in names \
                and main == f"{project}-{row.service}":
            say(f"container {row.name}: an interrupted update left it serving; "
                f"renamed to {main}")
            engine.rename(row.name, main)
