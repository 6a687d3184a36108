"""`invoke rollback`: services back to the release before the running one, by the path a
deploy takes (start-first through the proxy's upstreams, else stop-first), from the
container spec and image the deploy kept. The next deploy goes forward again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...console import Say
from ...declaration.model import Stack
from ...engine.backend import Engine
from ...errors import OperationError
from ...hostfiles.files import HostFiles
from ...hostfiles.local_state import LocalState
from ...planning import plan as p
from ...planning.releases import History, Release, choose, rollback_plan
from ...planning.state import Observed
from ..oneoff.release import not_run_backwards
from ..records import history as audit
from ..records import release_runs, releases
from ._update import recover
from .converge import HostSite, apply


@dataclass(frozen=True)
class Rollback:
    plan: p.Plan
    targets: dict[str, Release]
    notes: list[str]  # services of the undone deploy left as they are, and why


def plan_rollback(stack: Stack, engine: Engine, files: HostFiles,
                  names: list[str] | None) -> tuple[Rollback, dict[str, History]]:
    """What a rollback would do; changes nothing. Refuses (OperationError) when there is
    nothing to go back to, or its image is gone."""
    histories = releases.load_all(stack, files)
    choice = choose(histories, [s.name for s in stack.services], names, stack.keep_images)
    if choice.refusal:
        raise OperationError(f"{choice.refusal}. Nothing was changed.")
    observed = engine.observe(stack.project, [])
    for service, release in choice.targets.items():
        if not kept_image(observed, release):
            raise OperationError(f"{service}: the image of release {release.number} "
                                 f"({release.tag}, {release.image[:19]}) is no longer on the "
                                 "engine. Nothing was changed.")
    plan = rollback_plan(stack, observed, choice.targets,
                         {n: histories[n].broken is not None for n in choice.targets})
    return Rollback(plan, choice.targets, choice.notes), histories


def kept_image(observed: Observed, release: Release) -> bool:
    """The release's image is on the engine: by id (under any tag), or, for a record
    without an id, by its tag."""
    if release.image_id:
        return any(image.id == release.image_id for image in observed.images.values())
    return release.tag in observed.images


def rollback(stack: Stack, engine: Engine, files: HostFiles, names: list[str] | None,
             say: Say) -> Rollback:
    recover(engine, stack.project, say)  # a `-next` a killed update left serving
    result, histories = plan_rollback(stack, engine, files, names)
    for note in result.notes:
        say(f"rollback: {note}; left as it is")
    result = replace(result, plan=not_run_backwards(result.plan, say,
                                                    ran_since(stack, files, result)))
    done: list[p.Action] = []
    try:
        apply(result.plan, engine, say, LocalState.load(stack.state_path()),
              HostSite(files=files), done)
    except Exception as error:
        _moved(stack, files, histories, result, done)
        audit.record(stack, files, result.plan, f"failed: {str(error).splitlines()[0]}",
                     kind="rollback", summary=summary(result), error=error, done=done)
        raise
    _moved(stack, files, histories, result, done)
    audit.record(stack, files, result.plan, "ok", kind="rollback", summary=summary(result))
    return result


def ran_since(stack: Stack, files: HostFiles,
              result: Rollback) -> dict[str, list[release_runs.ReleaseRun] | None]:
    """Per service, the release commands that ran since the release it goes back to
    went live (its record's time is the end of that deploy, after its own command)."""
    found: dict[str, list[release_runs.ReleaseRun] | None] = {}
    for service, target in result.targets.items():
        runs = release_runs.load(stack, files, service)
        found[service] = None if runs is None else release_runs.since(runs, target.deploy)
    return found


def summary(result: Rollback) -> str:
    return ", ".join(f"{service} to release {release.number} ({release.when})"
                     for service, release in sorted(result.targets.items()))


def _moved(stack: Stack, files: HostFiles, histories: dict[str, History], result: Rollback,
           done: list[p.Action]) -> None:
    """The services rolled back now run their earlier release."""
    for action in done:
        assert action.container is not None
        service = action.container.service
        target = result.targets[service]
        releases.save(stack, files, replace(histories[service], current=target.number,
                                            broken=None))
