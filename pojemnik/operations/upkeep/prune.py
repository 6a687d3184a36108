"""`invoke prune`: what planning/retention.py says, done. Docker refuses to remove an
image a container (or another image) still uses: it stays, and is said; nothing is forced,
volumes are never touched."""

from __future__ import annotations

from ...console import Say
from ...declaration.model import Stack
from ...engine.backend import Engine
from ...hostfiles.files import HostFiles
from ...planning.retention import PrunePlan, StoppedContainer, prune_plan
from ..records.releases import load_all, save


def plan_prune(stack: Stack, engine: Engine, files: HostFiles) -> PrunePlan:
    """What `prune` would remove; changes nothing."""
    rows = engine.project_containers(stack.project)
    return prune_plan(stack.project, engine.stored_images(), load_all(stack, files),
                      [StoppedContainer(r.name, r.state) for r in rows],
                      {stack.container_name(s.name) for s in stack.services},
                      stack.keep_images)


def show(plan: PrunePlan, say: Say, dry: bool) -> None:
    verb = "would remove" if dry else "removing"
    for name in plan.containers:
        say(f"container {name}: stopped, no declared service's: {verb}")
    for service, history in sorted(plan.trimmed.items()):
        say(f"releases of {service}: keeping {', '.join(str(r.number) for r in history.releases)}"
            " (keep_images)")
    for tag in plan.release_tags:
        say(f"image {tag}: a release no longer kept: {verb}")
    for tag in plan.failed_builds:
        say(f"image {tag}: a failed build's leftover: {verb}")
    for image in plan.dangling:
        say(f"image {image[7:19]}: untagged, built by this project: {verb}")
    if plan.empty():
        say("prune: nothing to remove")


def prune(stack: Stack, engine: Engine, files: HostFiles, say: Say,
          dry: bool = False) -> PrunePlan:
    """Containers first (they hold their images), then the records, then the tags, then
    the images left untagged by that."""
    plan = plan_prune(stack, engine, files)
    show(plan, say, dry)
    if dry:
        return plan
    for name in plan.containers:
        engine.remove_container(name)
    for history in plan.trimmed.values():
        save(stack, files, history)
    kept = [tag for tag in [*plan.release_tags, *plan.failed_builds]
            if not engine.remove_tag(tag)]
    # Untagging can leave more of the project's images untagged: those go too.
    after = prune_plan(stack.project, engine.stored_images(), {}, [], set(), stack.keep_images)
    stuck = [image for image in after.dangling if not engine.remove_tag(image)]
    for ref in [*kept, *(image[:19] for image in stuck)]:
        say(f"image {ref}: kept (a container uses it, or another image is built on it)")
    say(f"prune: {len(plan.containers)} container(s) removed, "
        f"{len(plan.release_tags) + len(plan.failed_builds) - len(kept)} image tag(s) and "
        f"{len(after.dangling) - len(stuck)} untagged image(s) removed; volumes untouched")
    return plan
