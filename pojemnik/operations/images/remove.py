"""`down --images`: remove the project's own images, never another's (see
planning/project_images.py for which those are)."""

from __future__ import annotations

from dataclasses import replace

from ...console import Say
from ...declaration.model import Stack
from ...engine.backend import Engine
from ...hostfiles.files import HostFiles
from ...planning.project_images import project_images
from ..records.releases import load_all, save


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
        # (No size: an image's size counts the base layers it shares with others.)
        say(f"images: {len(gone)} removed, with their layers not shared with other images")
    return kept


def forget_gone_releases(stack: Stack, engine: Engine, files: HostFiles, say: Say) -> None:
    """Releases whose image is no longer on the engine cannot be rolled back to: their
    records go too, so `history` and `rollback` do not offer them (the audit log stays)."""
    present = {image.id for image in engine.stored_images()}
    for service, history in load_all(stack, files).items():
        kept = tuple(r for r in history.releases if r.image_id in present)
        if len(kept) == len(history.releases):
            continue
        current = history.current if any(r.number == history.current for r in kept) else None
        save(stack, files, replace(history, releases=kept, current=current, broken=None))
        say(f"releases of {service}: {len(history.releases) - len(kept)} forgotten (their "
            "images are gone)")
