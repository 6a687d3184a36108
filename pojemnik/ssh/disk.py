"""Free disk space and sizes of directories on a host, asked over SSH (`df`, `du`): the
engine's API does not say (or, `docker system df`, only slowly)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fabric import Connection


def parse_df(output: str) -> tuple[int, int] | None:
    """`df -Pk PATH`: the second line's total and available 1K-blocks, as bytes."""
    lines = output.strip().splitlines()
    if len(lines) < 2:
        return None
    fields = lines[-1].split()
    try:
        return int(fields[1]) * 1024, int(fields[3]) * 1024
    except (IndexError, ValueError):
        return None


class RemoteDisk:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def usage(self, path: str) -> tuple[int, int] | None:
        """Total and free bytes of the filesystem holding `path`; None if unknown."""
        result = self.connection.run(f"df -Pk {shlex.quote(path)}", hide=True, warn=True,
                                     in_stream=False)
        return parse_df(result.stdout) if result.ok else None

    def size(self, path: str) -> int | None:
        """Bytes under `path`; None if this user cannot read it (volumes are root's)."""
        result = self.connection.run(f"du -sk {shlex.quote(path)}", hide=True, warn=True,
                                     in_stream=False)
        try:
            return int(result.stdout.split()[0]) * 1024 if result.ok else None
        except (IndexError, ValueError):
            return None
