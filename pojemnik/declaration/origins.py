"""Where a declared value came from: the `.env` variable (and its file and line) that
`stack.py` read it from. Problems in such a value name the variable, since that is
what the user edits, not the `stack.py` field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    name: str  # the variable: ISOLATED_SUBNET
    where: str  # ".env:3", ".env.example:19", "the environment"

    @property
    def in_file(self) -> str:
        """Where the user changes it: `.env` (also for a default in .env.example), or the
        environment's own `.env.NAME`."""
        if self.where == "the environment":
            return self.where
        file = self.where.partition(":")[0]
        return file if file.startswith(".env.") and file != ".env.example" else ".env"


class Unusable(int):
    """Stands in for a setting's value that is not one (`HTTP_PORT=38O80`), which the
    settings already reported: checks of the field it fills skip it, so one mistake
    makes one problem, not a second about "port 0"."""

    __slots__ = ()


def unusable(value: object) -> bool:
    return isinstance(value, Unusable)


Origins = Mapping[str, tuple[Origin, ...]]  # value (as text) -> the variables it came from


def origins_of(origins: Origins, value: object) -> tuple[Origin, ...]:
    return origins.get(str(value), ()) if value is not None else ()


def from_text(origins: Origins, value: object) -> str:
    """' (from ISOLATED_SUBNET, .env:3)' when the value came from a setting, else ''."""
    found = origins_of(origins, value)
    if not found:
        return ""
    return " (from " + " or ".join(f"{o.name}, {o.where}" for o in found) + ")"


def variable_hint(origins: Origins, value: object, fallback: str) -> str:
    """'ECHO_PORT in .env' naming the user's variable, or `fallback`."""
    found = origins_of(origins, value)
    if not found:
        return fallback
    return " or ".join(f"{o.name} in {o.in_file}" for o in found)
