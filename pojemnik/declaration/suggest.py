"""A "did you mean X?": the declared name closest to a mistyped one, by difflib's ratio (a
swapped or missing letter still finds it; a name that is like none is left alone)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's own: 'wroker'/'worker' 0.83, 'aap'/'app' 0.67, 'db'/'dns' 0.4


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name nearest to `name`, if one is near; a case-only difference first
    ('dockerfile' -> 'Dockerfile')."""
    candidates = [k for k in dict.fromkeys(known) if k != name]
    same_but_case = [k for k in candidates if k.lower() == name.lower()]
    if same_but_case:
        return same_but_case[0]
    lowered = {k.lower(): k for k in candidates}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=CUTOFF)
    return lowered[found[0]] if found else None


def suggesting(name: str, known: Iterable[str], fix: str, quote: bool = True) -> str:
    """`fix`, led by "did you mean 'worker'?" when a known name is near `name`."""
    match = closest(name, known)
    if match is None:
        return fix
    shown = repr(match) if quote else match
    return f"did you mean {shown}? If not: {fix}"
