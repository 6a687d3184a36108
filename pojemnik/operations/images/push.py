"""`images.push`: images built here pushed to a host's engine, so a small server need not
build. Streamed (`docker save` here, `docker load` there), skipped where the host has the
same image id. Labels (the build-context hash) travel with the image, so the host's plan
then sees them as built."""

from __future__ import annotations

from collections.abc import Iterable

from ...console import Meter, Say
from ...declaration.model import Stack
from ...engine.backend import Engine
from ...errors import OperationError
from ..lock import present_lock_image


def built_here(local: Engine, tags: list[str]) -> dict[str, str]:
    """Tag -> image id of each of `tags` on this machine; an error if one is missing."""
    here = local.image_ids()
    for tag in tags:
        if tag not in here:
            raise OperationError(f"image {tag} is not built here; run `invoke images.build` "
                                 "(and `invoke images.base`) first")
    return {tag: here[tag] for tag in tags}


def push_images(local: Engine, remote: Engine, tags: list[str], say: Say) -> None:
    here, there = built_here(local, tags), remote.image_ids()
    sizes = {tag: row.size for row in local.list_images(tags) for tag in row.tags}
    for tag in tags:
        if there.get(tag) == here[tag]:
            say(f"image {tag}: already on the host")
            continue
        say(f"image {tag}: sending ({here[tag][7:19]})")
        meter = Meter(f"image {tag}", sizes.get(tag, 0), say)

        def chunks(tag: str = tag, meter: Meter = meter) -> Iterable[bytes]:
            for chunk in local.save_image(tag):
                meter.advance(len(chunk))
                yield chunk

        try:
            remote.load_image(chunks())
        finally:
            meter.close()
        sent = meter.sent
        if remote.image_ids().get(tag) != here[tag]:
            raise OperationError(f"image {tag}: the host did not end up with {here[tag][:19]}")
        say(f"image {tag}: loaded ({sent >> 20} MiB)")



def lock_image_on(local: Engine, remote: Engine, stack: Stack, say: Say) -> str:
    """An image the host has to run the project's lock (the push holds it: a deploy
    there must not see its images re-tagged under it). A host with none gets the base
    image first, sent from here: a small server never makes it."""
    found = present_lock_image(remote, stack)
    if found is not None:
        return found
    push_images(local, remote, [stack.base_image], say)
    return stack.base_image
