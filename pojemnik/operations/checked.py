"""The one order both targets plan in: check the declaration -> observe -> check against
the engine -> plan. Nothing is observed before the declaration passed and nothing planned
before the engine's checks passed; each step raises every problem it found at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..declaration.model import Stack
from ..declaration.problems import InvalidStack, Problem
from ..declaration.validate.stack import check_declaration

Seen = TypeVar("Seen")
Planned = TypeVar("Planned")


def refuse(problems: list[Problem]) -> None:
    if problems:
        raise InvalidStack(problems)


def check_declared(stack: Stack, problems: list[Problem], images_only: bool = False) -> None:
    """The pure checks: a refused deploy runs without the lock, so it must not have touched
    the engine (the settings' problems come in `problems`)."""
    refuse([*problems, *check_declaration(stack, images_only)])


def checked(observe: Callable[[], Seen], check: Callable[[Seen], list[Problem]],
            plan: Callable[[Seen], Planned]) -> tuple[Planned, Seen]:
    """Observe, check against what was observed, plan (after `check_declared`)."""
    observed = observe()
    refuse(check(observed))
    return plan(observed), observed
