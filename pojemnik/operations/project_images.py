"""`down --images`: remove the project's own images, never another's (see
planning/project_images.py for which those are)."""

from __future__ import annotations

from ..console import Say
from ..engine.backend import Engine
from ..planning.project_images import project_images


def remove_images(engine: Engine, project: str, say: Say) -> list[str]:
    """Untag the project's tags and remove its untagged images; an image a container
    still uses (or another image is built on) is kept, and said. Returns what was kept."""
    before = engine.stored_images()
    removal = project_images(project, before)
    kept = [ref for ref in [*removal.tags, *removal.untagged] if not engine.remove_tag(ref)]
    for ref in kept:
        say(f"image {ref}: kept (a container uses it, or another image is built on it)")
    left = {image.id for image in engine.stored_images()}
    gone = [image for image in before if image.id not in left]
    removed_tags = [t for t in removal.tags if t not in kept]
    for tag in removed_tags:
        say(f"image {tag}: removed")
    untagged = [i for i in gone if not i.tags]
    if untagged:
        say(f"images: {len(untagged)} untagged image(s) of {project} removed")
    if not removal.tags and not removal.untagged:
        say(f"images: {project} has none on this engine")
    else:
        freed = sum(image.size for image in gone)
        say(f"images: {len(gone)} removed, about {freed / 2**20:.0f} MB freed (layers "
            "shared with other images stay)")
    return kept
