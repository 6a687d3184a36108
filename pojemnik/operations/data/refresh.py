"""Refresh staging's database from production's, on one engine.

Data copy's restore (`_database`, `_restore`), with the source another
environment's database container: its `pg_dump` is spooled, restored into
`<database>_incoming` beside staging's live database by a role that can do no more than
fill it, verified table by table against the source, then scrubbed (the declared SQL, in
one transaction), and only then swapped in. So staging never serves unscrubbed rows: a
failed scrub leaves its live database as it was.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ...console import Say
from ...engine.backend import Engine
from ...errors import HostCommandError, OperationError
from ...ssh.channels import CHUNK
from ._database import DatabaseReport, NewStack, prune, reopen, swap
from ._restore import hand_over, login_for, owner_of, prepare, restore_as, restorer_of

SPOOLED = 64 << 20  # a dump up to this size stays in memory, a larger one on disk


@dataclass(frozen=True)
class Refresh:
    source: str  # the containers: production's and staging's database service
    target: str
    database: str
    scrub: Path | None  # SQL run in the refreshed copy before it is swapped in


def refresh_database(engine: Engine, request: Refresh, say: Say) -> DatabaseReport:
    source, target = NewStack(engine, request.source), NewStack(engine, request.target)
    database = request.database
    for side in (source, target):
        if engine.state(side.container) != "running":
            raise OperationError(f"{side.container} is not running; deploy both "
                                 "environments first (`invoke deploy`, with POJEMNIK_ENV "
                                 "for the named one)")
        if database not in side.databases():
            raise OperationError(f"database {database} does not exist in {side.container}; "
                                 "deploy both environments first")
    reopen(target, database, say, dry=False)
    owner = owner_of(target, database)
    wanted = source.stats(database)
    incoming, role = f"{database}_incoming", restorer_of(database)
    untouched = f"{target.container}'s live database {database} is untouched"
    with dumped(source, database) as dump:
        prepare(target, incoming, role)
        say(f"database {database}: dump from {source.container}, restore into "
            f"{target.container} as role {role}, then owned by {owner}")
        try:
            with login_for(target, role, incoming):
                restore_as(target, role, incoming, dump)
        except HostCommandError as error:
            raise HostCommandError(f"{error}\ndatabase {database}: the restore failed; "
                                   f"{untouched}") from error
        finally:
            hand_over(target, incoming, role, owner)
    if (after := target.stats(incoming)) != wanted:
        bad = sorted(t for t in set(wanted) | set(after) if wanted.get(t) != after.get(t))
        raise OperationError(f"database {database}: verification failed for tables {bad} "
                             f"(does {source.container} change them now?); {untouched}")
    if request.scrub is not None:
        scrub(target, incoming, request.scrub, untouched)
        say(f"database {database}: scrubbed with {request.scrub.name}")
    kept = f"{database}_before_copy_{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"
    swap(target, database, incoming, kept)
    say(f"database {database}: swapped in; the previous one is kept as {kept}")
    dropped = prune(target, database)
    return DatabaseReport(True, {t: rows for t, (rows, _) in wanted.items()}, kept,
                          tuple(dropped))


@contextmanager
def dumped(source: NewStack, database: str) -> Iterator[Iterator[bytes]]:
    """The source's dump, whole before the restore starts: a failed dump restores nothing.
    The custom format, for pg_restore (psql would run a dump's `\\!`)."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOLED) as spool:
        def keep(data: bytes) -> None:
            spool.write(data)

        source.execute(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                        "--no-tablespaces", database], f"pg_dump {database}",
                       output=keep)
        spool.seek(0)
        yield iter(lambda: spool.read(CHUNK), b"")


def scrub(target: NewStack, incoming: str, sql: Path, untouched: str) -> None:
    """The declared SQL in one transaction, stopping at its first error."""
    try:
        target.execute(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                        "-d", incoming, "-f", "-"], f"scrub {sql.name}",
                       stdin=iter([sql.read_bytes()]))
    except HostCommandError as error:
        target.run("postgres", f"DROP DATABASE IF EXISTS {incoming}")
        raise HostCommandError(f"{error}\nthe scrub failed, so the refreshed copy was "
                               f"dropped; {untouched}") from error
