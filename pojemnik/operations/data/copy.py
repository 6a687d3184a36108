"""`data.copy`: the data from the previous installation, files then a database, verified."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...console import Say
from ...engine.backend import Engine
from ...errors import OperationError
from ...ssh.connection import open_connection
from ._database import DatabaseReport, copy_database
from ._files import FilesReport, copy_files, copy_files_direct, direct_address

if TYPE_CHECKING:
    from fabric import Connection

# At most 36: `<name>_before_copy_<14 digits>` must fit PostgreSQL's 63 bytes, uncut.
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,35}")


@dataclass(frozen=True)
class CopyRequest:
    path: str = ""  # on the old host
    to: str = ""  # on the new host (default: the same path)
    database: str = ""
    container: str = ""  # the new stack's database container
    dry: bool = False
    delete: bool = False
    direct: str = ""  # HOST[:PORT] the new host reaches the old one at

    def problems(self) -> list[str]:
        found = []
        if not self.path and not self.database:
            found.append("nothing to copy: give --path and/or --database")
        if self.database and not DATABASE_NAME.fullmatch(self.database):
            found.append(f"--database {self.database!r}: use a plain PostgreSQL name "
                         "(a-z, 0-9, _; at most 36 characters)")
        if self.direct:
            try:
                direct_address(self.direct)
            except ValueError as error:
                found.append(f"--direct {self.direct!r}: {error}; give HOST or HOST:PORT, "
                             "the address the new server reaches the old one at, e.g. "
                             "--direct old.example.com:2222")
        return found


def copy_data(new: Connection, old: Connection, engine: Callable[[], Engine],
              request: CopyRequest, say: Say) -> tuple[FilesReport | None,
                                                         DatabaseReport | None]:
    if problems := request.problems():
        raise OperationError("; ".join(problems))
    open_connection(new)
    open_connection(old)
    files = None
    if request.path:
        destination = request.to or request.path
        if request.direct:
            files = copy_files_direct(old, request.path, new, destination, request.direct, say,
                                      dry=request.dry, delete=request.delete)
        else:
            files = copy_files(old, request.path, new, destination, say, dry=request.dry,
                               delete=request.delete)
    database = None
    if request.database:
        database = copy_database(old, engine(), request.container, request.database, say,
                                 dry=request.dry)
    return files, database


def describe_files(report: FilesReport, dry: bool) -> list[str]:
    if dry:
        return [f"  {line}" for line in report.would or ["nothing would change"]]
    return [f"files: {report.copied} copied ({report.bytes} bytes), {report.unchanged} "
            f"unchanged, {report.deleted} deleted; verified: {report.verified} entries match "
            "the source's manifest"]


def describe_database(name: str, report: DatabaseReport) -> str:
    counts = ", ".join(f"{t} {n}" for t, n in report.tables.items())
    return (f"database {name}: {'restored' if report.restored else 'unchanged'}; "
            f"rows verified: {counts}")
