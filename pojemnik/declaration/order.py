"""The order services start and stop in.

`startup_order`: waves, each depending only on earlier ones, by every `depends_on` (what
`down` reverses, and what a Swarm deploy waits between). `start_waves`: the waves a
deploy starts containers in, where a service needed only started (`Started`) does not
make a wave of its own: its dependents start right after it, in its wave.
"""

from __future__ import annotations

from .model import Service, Stack, Started


def startup_order(stack: Stack) -> list[list[str]]:
    """Services in waves: each wave depends only on earlier ones, by every dependency,
    `Started` or not (run on a valid stack)."""
    return _waves(stack, share_started=False)


def start_waves(stack: Stack) -> list[list[str]]:
    """Services in the waves a deploy starts them in: a wave starts once every service
    of the waves before is ready. Inside a wave a service comes after those it needs
    only started (run on a valid stack)."""
    return _waves(stack, share_started=True)


def _waves(stack: Stack, share_started: bool) -> list[list[str]]:
    """Waves by each service's place: (wave, place among the chains of `Started`
    dependencies inside that wave); with `share_started`, a `Started` dependency
    keeps its dependent in its own wave, one place later."""
    level: dict[str, tuple[int, int]] = {}
    remaining = {s.name: list(s.depends_on) for s in stack.services}
    # A release command runs before its service starts and talks to what it depends on
    # (migrations: the database): those must be ready, not only started.
    releasing = {s.name for s in stack.services if s.release is not None}
    while remaining:
        ready = sorted(n for n, deps in remaining.items() if all(d in level for d in deps))
        if not ready:
            raise ValueError("dependency cycle")  # validate() reports it first
        for name in ready:
            shared = share_started and name not in releasing
            level[name] = max((_after(level[d], shared and isinstance(d, Started))
                               for d in remaining.pop(name)), default=(0, 0))
    waves: dict[int, list[str]] = {}
    for name in sorted(level, key=lambda n: (level[n], n)):
        waves.setdefault(level[name][0], []).append(name)
    return [waves[w] for w in sorted(waves)]


def started_first(stack: Stack, service: str) -> tuple[str, ...]:
    """The containers a service's container starts after, in its own wave: those of the
    services it needs only started (`Started` in its `depends_on`)."""
    declared: Service | None = next((s for s in stack.services if s.name == service), None)
    if declared is None or declared.release is not None:  # those are ready, in a wave before
        return ()
    return tuple(stack.container_name(d) for d in declared.depends_on if isinstance(d, Started))


def _after(dependency: tuple[int, int], started: bool) -> tuple[int, int]:
    wave, place = dependency
    return (wave, place + 1) if started else (wave + 1, 0)
