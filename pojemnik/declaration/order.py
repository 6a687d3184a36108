"""The order services start in: waves, each depending only on earlier ones."""

from __future__ import annotations

from .model import Stack


def startup_order(stack: Stack) -> list[list[str]]:
    """Services in waves: each wave depends only on earlier ones (run on a valid stack)."""
    remaining = {s.name: set(s.depends_on) for s in stack.services}
    waves: list[list[str]] = []
    done: set[str] = set()
    while remaining:
        wave = sorted(name for name, deps in remaining.items() if deps <= done)
        if not wave:
            raise ValueError("dependency cycle")  # validate() reports it first
        waves.append(wave)
        done.update(wave)
        for name in wave:
            del remaining[name]
    return waves
