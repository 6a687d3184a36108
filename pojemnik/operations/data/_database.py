"""Move a PostgreSQL database from the old host into the new stack's database container.

By dump and restore (pg_dump | pg_restore, as a role that can do no more than fill the
new database: datacopy_restore), never by copying a live data directory. The dump
is restored into a fresh database beside the live one, verified table by table (row
count and a streaming, order-independent digest of the rows), and only then swapped in:
new connections are blocked, sessions ended, and both renames happen in one transaction.
The replaced database is kept as `<name>_before_copy_<time>` (the newest KEEP of them).
"""

from __future__ import annotations

import hashlib
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...console import Say
from ...engine.backend import Engine
from ...errors import HostCommandError, OperationError
from ...ssh.channels import CHUNK, finish_channel, open_channel
from ...ssh.connection import describe
from ._restore import hand_over, login_for, owner_of, prepare, restore_as, restorer_of

if TYPE_CHECKING:
    from fabric import Connection

KEEP = 3  # replaced databases kept
TABLES_SQL = ("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
              "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
MODULUS = 1 << 256
# Rows are compared as COPY prints them, so every session that reads them prints values
# alike on both servers: an old server's encoding, time zone, or date, interval, float,
# bytea or money style must not make equal rows differ.
# And only pg_catalog's functions: a restored database may hold a `public.quote_ident(name)`
# that would be chosen over pg_catalog's (text) in TABLES_SQL and run as the superuser.
SAME_PRINTING = ("SET search_path = pg_catalog; "
                 "SET client_encoding = 'UTF8'; SET TimeZone = 'UTC'; "
                 "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
                 "SET extra_float_digits = 1; SET bytea_output = 'hex'; SET lc_monetary = 'C'")


@dataclass(frozen=True)
class DatabaseReport:
    restored: bool
    tables: dict[str, int]  # table -> rows, equal on both sides
    kept: str = ""  # the replaced database's new name
    dropped: tuple[str, ...] = ()  # older replaced databases removed


class RowDigest:
    """Rows as COPY prints them (one per line), hashed and summed: the same for the same
    rows in any order, so neither side sorts a table. Each line is hashed as it streams
    in, so a row of any size costs one chunk of memory and one pass."""

    def __init__(self) -> None:
        self.rows = 0
        self.total = 0  # reduced modulo 2**256 in result()
        self.line = hashlib.sha256()
        self.open = False  # part of a line was fed, its end not yet

    def feed(self, data: bytes) -> None:
        *lines, tail = data.split(b"\n")  # complete lines, then the start of the next
        if lines and self.open:
            self.line.update(lines[0])
            self.add(self.line.digest())
            lines = lines[1:]
        self.rows += len(lines)
        self.total += sum(int.from_bytes(hashlib.sha256(line).digest()) for line in lines)
        if tail:
            if not self.open:
                self.line, self.open = hashlib.sha256(), True
            self.line.update(tail)

    def add(self, digest: bytes) -> None:
        self.rows += 1
        self.total += int.from_bytes(digest)
        self.open = False

    def result(self) -> tuple[int, str]:
        if self.open:
            self.add(self.line.digest())
        return self.rows, f"{self.total % MODULUS:064x}"


Stats = dict[str, tuple[int, str]]


def table_stats(listing: str, read: Callable[[str, Callable[[bytes], None]], object]) -> Stats:
    """Rows and digest of each table in `listing` (one a line: a name may have spaces)."""
    stats = {}
    for table in listing.splitlines():
        digest = RowDigest()
        read(f"COPY {table} TO STDOUT", digest.feed)
        stats[table] = digest.result()
    return stats


class OldHost:
    """The old server's PostgreSQL, as the postgres user on the host itself."""

    def __init__(self, connection: Connection, database: str) -> None:
        self.connection = connection
        self.database = database
        self.prefix = "cd / && runuser -u postgres -- " if connection.user == "root" else ""

    def psql(self, *sql: str) -> str:
        commands = " ".join(f"-c {shlex.quote(each)}" for each in sql)
        return f"{self.prefix}psql -X -q -v ON_ERROR_STOP=1 -At " \
               f"-d {shlex.quote(self.database)} {commands}"

    def stream(self, command: str, output: Callable[[bytes], None], what: str) -> None:
        channel = open_channel(self.connection, command)
        channel.shutdown_write()
        while chunk := channel.recv(CHUNK):
            output(chunk)
        finish_channel(channel, self.connection, what)

    def stats(self) -> Stats:
        listing = bytearray()
        self.stream(self.psql(SAME_PRINTING, TABLES_SQL), listing.extend, "listing tables")
        return table_stats(listing.decode(), lambda copy, output: self.stream(
            self.psql(SAME_PRINTING, copy), output, f"reading: {copy}"))

    def dump(self) -> Iterator[bytes]:
        # Tablespaces are the old host's disks; the new stack has one data directory.
        # The custom format, for pg_restore: SQL only (psql would run `\!` in a dump).
        channel = open_channel(self.connection, f"{self.prefix}pg_dump --format=custom "
                               "--no-owner --no-privileges --no-tablespaces "
                               f"{shlex.quote(self.database)}")
        try:
            channel.shutdown_write()
            while chunk := channel.recv(CHUNK):
                yield chunk
            finish_channel(channel, self.connection, "pg_dump")
        finally:
            channel.close()  # also when the restore stopped reading (pg_restore failed)


class NewStack:
    """The new stack's database container, through the engine (`docker exec -i`)."""

    def __init__(self, engine: Engine, container: str) -> None:
        self.engine = engine
        self.container = container

    def run(self, database: str, *sql: str,
            output: Callable[[bytes], None] | None = None) -> str:
        """SQL as the superuser (never the old server's: datacopy_restore runs that)."""
        command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", database]
        for each in sql:
            command += ["-c", each]
        return self.execute(command, f"psql -d {database}", output=output)

    def execute(self, command: list[str], what: str, stdin: Iterator[bytes] | None = None,
                output: Callable[[bytes], None] | None = None) -> str:
        collected = bytearray()
        code, errors = self.engine.exec_stream(self.container, command, stdin or iter(()),
                                               output or collected.extend)
        if code != 0:
            raise HostCommandError(f"{self.container}: {what} failed (exit {code}): "
                                   f"{errors.strip()}")
        return collected.decode(errors="replace")

    def stats(self, database: str) -> Stats:
        return table_stats(self.run(database, SAME_PRINTING, TABLES_SQL),
                           lambda copy, output: self.run(database, SAME_PRINTING, copy,
                                                         output=output))

    def databases(self) -> list[str]:
        return self.run("postgres", "SELECT datname FROM pg_database").split()


def copy_database(source: Connection, engine: Engine, container: str, database: str,
                  say: Say, dry: bool = False) -> DatabaseReport:
    old, new = OldHost(source, database), NewStack(engine, container)
    if database not in new.databases():
        raise OperationError(f"database {database} does not exist in {container}; deploy the "
                             "new stack first (`deploy`), then copy into it")
    reopen(new, database, say, dry)
    owner = owner_of(new, database)
    wanted = old.stats()
    counts = {table: rows for table, (rows, _) in wanted.items()}
    if wanted == new.stats(database):
        say(f"database {database}: already the same ({len(wanted)} tables); nothing restored")
        return DatabaseReport(False, counts)
    if dry:
        say(f"database {database}: would be replaced by a dump of {describe(source)} "
            f"({', '.join(f'{t}: {n} rows' for t, n in counts.items())})")
        return DatabaseReport(False, counts)
    untouched = (f"the live database {database} is untouched ({database}_incoming holds "
                 "the attempt)")
    try:
        incoming = restore(old, new, database, owner, say)
    except HostCommandError as error:
        raise HostCommandError(f"{error}\ndatabase {database}: the restore failed; "
                               f"{untouched}") from error
    after = new.stats(incoming)
    if after != wanted:
        bad = sorted(t for t in set(wanted) | set(after) if wanted.get(t) != after.get(t))
        raise OperationError(f"database {database}: verification failed for tables {bad}: "
                             "what was restored is not what the old server held just before "
                             "the dump (do its apps still write? stop them, then copy "
                             f"again); {untouched}")
    # UTC: the names sort as they were made whoever copies, whatever the season.
    kept = f"{database}_before_copy_{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"
    swap(new, database, incoming, kept)
    say(f"database {database}: swapped in; the previous one is kept as {kept}")
    dropped = prune(new, database)
    for name in dropped:
        say(f"database {name}: dropped (only the newest {KEEP} replaced ones are kept)")
    return DatabaseReport(True, counts, kept, tuple(dropped))


def restore(old: OldHost, new: NewStack, database: str, owner: str, say: Say) -> str:
    """The dump restored into `<database>_incoming` by a throwaway role that can do no
    more than fill it, then owned by the live one's owner (datacopy_restore)."""
    incoming, role = f"{database}_incoming", restorer_of(database)
    prepare(new, incoming, role)
    say(f"database {database}: dump from {describe(old.connection)}, restore into "
        f"{new.container} as role {role}, then owned by {owner}")
    try:
        with login_for(new, role, incoming):
            restore_as(new, role, incoming, old.dump())
    finally:
        hand_over(new, incoming, role, owner)
    return incoming


def swap(new: NewStack, database: str, incoming: str, kept: str) -> None:
    """No new connections, end the sessions, then both renames in one transaction: one
    psql, so apps are refused only for as long as that takes. On any failure the live
    database is where it was and accepts connections again."""
    try:
        new.run("postgres", f"ALTER DATABASE {database} ALLOW_CONNECTIONS false",
                SESSIONS_ENDED.format(database=database),
                f"BEGIN; ALTER DATABASE {database} RENAME TO {kept}; "
                f"ALTER DATABASE {incoming} RENAME TO {database}; COMMIT;")
    finally:
        live = database if kept not in new.databases() else kept
        new.run("postgres", f"ALTER DATABASE {live} ALLOW_CONNECTIONS true")


# Sessions are ended asynchronously: wait (up to 10 s) until none is left, else refuse.
# pg_stat_activity is read once per transaction unless its snapshot is cleared: without
# that, the loop saw the ended sessions for its whole 10 s.
SESSIONS_ENDED = """DO $$
BEGIN
  FOR i IN 1..500 LOOP
    PERFORM pg_stat_clear_snapshot();
    PERFORM pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = '{database}' AND pid <> pg_backend_pid();
    PERFORM pg_stat_clear_snapshot();
    IF NOT EXISTS (SELECT FROM pg_stat_activity WHERE datname = '{database}'
                   AND pid <> pg_backend_pid()) THEN
      RETURN;
    END IF;
    PERFORM pg_sleep(0.02);
  END LOOP;
  RAISE EXCEPTION 'the sessions on database {database} did not end within 10 s';
END $$"""


def reopen(new: NewStack, database: str, say: Say, dry: bool) -> None:
    """A copy killed inside the swap leaves its databases refusing connections (only the
    swap blocks them): open them again, so a re-run converges and the apps get back in."""
    pattern = database.replace("_", "\\_") + "\\_before\\_copy\\_%"
    blocked = new.run("postgres", "SELECT datname FROM pg_database WHERE NOT datallowconn "
                      f"AND (datname = '{database}' OR datname LIKE '{pattern}')").split()
    for name in blocked:
        if dry:
            say(f"database {name}: refuses connections (an interrupted swap); would allow "
                "them again")
            continue
        new.run("postgres", f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        say(f"database {name}: connections allowed again (an interrupted swap had blocked "
            "them)")


def prune(new: NewStack, database: str) -> list[str]:
    """Drop all but the newest KEEP `<database>_before_copy_*` databases."""
    kept = sorted(name for name in new.databases()
                  if name.startswith(f"{database}_before_copy_"))
    dropped = kept[:-KEEP] if len(kept) > KEEP else []
    for name in dropped:
        new.run("postgres", f"DROP DATABASE {name}")
    return dropped
