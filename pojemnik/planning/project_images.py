"""Which images on an engine are a project's own, for `down --images`. Pure.

A project's images are the tags it gave: its built images (`<project>/<image>:latest`,
labelled `pojemnik.project=<project>` at build), its release tags
(`<project>/releases:<service>-<n>`), and what a failed build left behind, which the
build tags `<project>/failed-builds:<image>` (its steps that did run: the cache the next
try reuses, otherwise an anonymous dangling image). Untagged images labelled as the
project's (a rebuild's predecessors) go too. Never a tag outside the project's
repositories (the base image, another project's images), so an image also tagged by
someone else stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..declaration.model import LABEL_PROJECT
from .releases import REPOSITORY as RELEASES

FAILED_BUILDS = "failed-builds"  # the repository of failed builds' leftovers


@dataclass(frozen=True)
class StoredImage:
    """One image on the engine, as `docker image ls` lists it."""

    id: str
    tags: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageRemoval:
    tags: list[str]  # untagged (an image goes with its last tag)
    untagged: list[str]  # ids of the project's images that have no tag left


def failed_build_tag(project: str, image: str) -> str:
    return f"{project}/{FAILED_BUILDS}:{image}"


def is_project_tag(project: str, tag: str, image: StoredImage) -> bool:
    """A tag in the project's namespace: its releases and failed builds, or an image
    the project built (its label says so)."""
    repository = tag.rpartition(":")[0]
    if repository in (f"{project}/{RELEASES}", f"{project}/{FAILED_BUILDS}"):
        return True
    return tag.startswith(f"{project}/") and image.labels.get(LABEL_PROJECT) == project


def project_images(project: str, images: Sequence[StoredImage]) -> ImageRemoval:
    tags = sorted(t for image in images for t in image.tags
                  if is_project_tag(project, t, image))
    untagged = sorted(i.id for i in images
                      if not i.tags and i.labels.get(LABEL_PROJECT) == project)
    return ImageRemoval(tags, untagged)
