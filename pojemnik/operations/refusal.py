"""A refused declaration, with the services' images that exist nowhere.

The declaration's own checks stop a task before anything is observed; but a service's
image that is neither declared nor on the engine (`postgress:16`) is a mistake like the
others, so the engine's image list is read (a query: nothing changes) to report it with
them, in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..declaration.model import Stack
from ..declaration.problems import InvalidStack, Problem
from ..declaration.validate_images import unknown_images
from ..engine.backend import Engine
from ..errors import PojemnikError


def refused(stack: Stack, images: Engine, problems: Sequence[Problem],
            images_only: bool = False) -> InvalidStack:
    """`problems` and the unknown images, as one error; `images`: the engine that holds
    (or builds) the stack's images."""
    found = list(problems)
    if not images_only:
        try:
            present = set(images.image_ids())
        except PojemnikError:
            present = None  # an engine that does not answer: the problems found stand
        if present is not None:
            found += [Problem(f"{stack.source}: {field}", message, fix)
                      for field, message, fix in unknown_images(stack, present)]
    return InvalidStack(found)
