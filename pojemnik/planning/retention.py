"""What `invoke prune` removes, and which releases a service keeps. Pure.

A service keeps its newest `keep_images` releases, and always the running one and the one
`rollback` would go to, even when they are older (after a rollback) or `keep_images` is 1.
`prune` removes only objects that carry this project's name or label:
- release tags (`<project>/releases:<service>-<n>`) of a declared service that its record
  no longer keeps (beyond `keep_images`, or tagged by a deploy killed before it recorded);
- failed builds' leftovers (`<project>/failed-builds:<image>`) and untagged images
  labelled as the project's (a rebuild's predecessors): dangling build layers;
- stopped containers labelled as the project's that are no declared service's container
  (a killed update's `-next`, a removed service's container).
Never volumes, never the images the stack builds (`<project>/<image>:latest`), never
another project's or a user's own images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..declaration.model import LABEL_PROJECT
from .project_images import FAILED_BUILDS, StoredImage
from .releases import REPOSITORY, History, retained

STOPPED = ("exited", "created", "dead")  # never running, paused or restarting


@dataclass(frozen=True)
class StoppedContainer:
    """A container of the project, as `docker ps --all` lists it."""

    name: str
    state: str  # running, exited, created, dead, ...


@dataclass(frozen=True)
class PrunePlan:
    containers: list[str] = field(default_factory=list)  # stopped one-off containers
    release_tags: list[str] = field(default_factory=list)  # releases no record keeps
    failed_builds: list[str] = field(default_factory=list)  # failed builds' leftovers
    dangling: list[str] = field(default_factory=list)  # ids of untagged project images
    # Records trimmed to `keep_images` (service -> what it keeps from now on).
    trimmed: dict[str, History] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (self.containers or self.release_tags or self.failed_builds
                    or self.dangling or self.trimmed)

    def as_data(self) -> dict[str, object]:
        return {"containers": self.containers, "release_tags": self.release_tags,
                "failed_builds": self.failed_builds, "dangling_images": self.dangling,
                "records_trimmed": {s: [r.number for r in h.releases]
                                    for s, h in sorted(self.trimmed.items())}}


def prune_plan(project: str, images: Sequence[StoredImage],
               histories: Mapping[str, History], containers: Sequence[StoppedContainer],
               service_containers: set[str], keep: int) -> PrunePlan:
    """What `prune` removes from what the engine holds and the records keep."""
    trimmed, kept_tags = {}, set()
    for service, history in histories.items():
        after, dropped = retained(history, keep)
        if dropped:
            trimmed[service] = after
        kept_tags |= {r.tag for r in after.releases}
    releases = f"{project}/{REPOSITORY}:"
    tags = sorted({t for image in images for t in image.tags})
    release_tags = [t for t in tags if t.startswith(releases) and t not in kept_tags
                    and _service_of(t.removeprefix(releases)) in histories]
    failed = [t for t in tags if t.startswith(f"{project}/{FAILED_BUILDS}:")]
    dangling = sorted(i.id for i in images
                      if not i.tags and i.labels.get(LABEL_PROJECT) == project)
    stopped = sorted(c.name for c in containers
                     if c.state in STOPPED and c.name not in service_containers)
    return PrunePlan(stopped, release_tags, failed, dangling, trimmed)


def _service_of(tag: str) -> str:
    """`app-12` -> `app` (a service's name may itself hold a dash)."""
    service, _, number = tag.rpartition("-")
    return service if number.isdigit() else ""
