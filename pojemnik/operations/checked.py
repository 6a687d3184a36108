"""The one order both targets plan in: check the declaration -> observe -> check against
the engine -> plan. Nothing is observed before the declaration passed and nothing planned
before the engine's checks passed; each step raises every problem it found at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ..declaration.model import Stack
from ..declaration.problems import InvalidStack, Problem
from ..declaration.validate.images import unknown_images
from ..declaration.validate.stack import check_declaration
from ..engine.backend import Engine
from ..errors import PojemnikError

Seen = TypeVar("Seen")
Planned = TypeVar("Planned")


def refuse(problems: list[Problem]) -> None:
    if problems:
        raise InvalidStack(problems)


def check_declared(stack: Stack, problems: list[Problem], images_only: bool = False,
                   images: Engine | None = None) -> None:
    """The pure checks: a refused deploy runs without the lock, so it must not have changed
    the engine (the settings' problems come in `problems`). `images`: the engine that holds
    (or builds) the stack's images, read only when something is refused anyway."""
    found = [*problems, *check_declaration(stack, images_only)]
    if found:
        raise refused(stack, images, found, images_only)


def refused(stack: Stack, images: Engine | None, problems: Sequence[Problem],
            images_only: bool = False) -> InvalidStack:
    """`problems` and the services' images that exist nowhere, as one error: an image
    neither declared nor on the engine (`postgress:16`) is a mistake like the others, so
    the engine's image list is read (a query: nothing changes) to report it with them."""
    found = list(problems)
    if images is not None and not images_only:
        try:
            present = set(images.image_ids())
        except PojemnikError:
            present = None  # an engine that does not answer: the problems found stand
        if present is not None:
            found += [Problem(f"{stack.source}: {field}", message, fix)
                      for field, message, fix in unknown_images(stack, present)]
    return InvalidStack(found)


def checked(observe: Callable[[], Seen], check: Callable[[Seen], list[Problem]],
            plan: Callable[[Seen], Planned]) -> tuple[Planned, Seen]:
    """Observe, check against what was observed, plan (after `check_declared`)."""
    observed = observe()
    refuse(check(observed))
    return plan(observed), observed
