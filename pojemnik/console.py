"""What people read: one line at a time, prefixed by the host under `fab -H a,b`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar

Say = Callable[[str], None]

# Under `fab -H a,b` tasks run in parallel threads: each line says which host it is about.
HOST_PREFIX: ContextVar[str] = ContextVar("HOST_PREFIX", default="")


def say(line: str) -> None:
    print(f"{HOST_PREFIX.get()}{line}", flush=True)


def table_lines(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns, as `docker ps` prints them."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    return ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=False)).rstrip()
            for row in [header, *rows]]
