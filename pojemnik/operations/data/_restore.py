"""The old server's dump restored with no more rights than the database it fills.

The dump comes from the old server, which may be hostile (as safe_tar assumes): run in a
superuser session, it could `RESET ROLE` out of any `SET ROLE` and do anything (`CREATE
ROLE ... SUPERUSER`, `COPY ... TO PROGRAM`), and psql would run its `\\!` shell commands.
So it is restored by pg_restore (SQL only) in a session whose *login* role is a throwaway
one, `pojemnik_restore_<database>`: no attributes, no memberships, owning only
`<database>_incoming`; nothing in the dump can leave it. The db image's pg_hba takes the
superuser only on the socket, so for the restore one line lets the container's user
(postgres, the superuser there already) log in as that role, to that database, on the
socket; it goes again after the restore (and at the container's next start). Then, as the
superuser, what the role made is handed to the live database's owner, and the role dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol

from ...errors import OperationError


class NewStack(Protocol):
    """The new stack's database container (datacopy_database.NewStack)."""

    def run(self, database: str, *sql: str) -> str: ...

    def execute(self, command: list[str], what: str,
                stdin: Iterator[bytes] | None = None) -> str: ...

ROLE_PREFIX = "pojemnik_restore_"
NAME_BYTES = 63  # PostgreSQL's longest name (NAMEDATALEN - 1)
# Not NOINHERIT: as the database's owner it creates in `public` through pg_database_owner.
CREATE_ROLE = ("CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
               "NOREPLICATION NOBYPASSRLS")
# $1 allow|remove, $2 the role, $3 the database. Lines naming the role are this copy's or an
# interrupted one's: they go first. A file that cannot be read stops it before any mv.
LOGIN_LINES = r"""set -eu
mode=$1 role=$2 database=$3
hba=$(psql -X -At -d postgres -c 'SHOW hba_file')
ident=$(psql -X -At -d postgres -c 'SHOW ident_file')
without() { grep -vwF -e "$role" "$1" || [ $? -eq 1 ]; }
umask 077
{ if [ "$mode" = allow ]; then
    printf 'local "%s" "%s" peer map=%s\n' "$database" "$role" "$role"
  fi
  without "$hba"; } > "$hba.pojemnik"
{ without "$ident"
  if [ "$mode" = allow ]; then printf '%s %s %s\n' "$role" "$(id -un)" "$role"; fi
} > "$ident.pojemnik"
mv "$hba.pojemnik" "$hba"
mv "$ident.pojemnik" "$ident"
psql -X -At -d postgres -c 'SELECT pg_reload_conf()' > /dev/null
"""
# $1 the role, $2 the database. pg_reload_conf() only signals the server: wait (up to 10 s)
# until the role's login is taken, then restore, SQL only, as that role.
RESTORE = r"""tries=0
until psql -X -q -U "$1" -d "$2" -c '' 2>/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -ge 100 ]; then psql -X -q -U "$1" -d "$2" -c ''; exit 1; fi
  sleep 0.1
done
exec pg_restore --exit-on-error --no-owner --no-privileges --no-tablespaces -U "$1" -d "$2"
"""


def quote_identifier(name: str) -> str:
    """`name` as an SQL identifier, whatever it holds (as psycopg's sql.Identifier)."""
    if "\0" in name:
        raise ValueError(f"{name!r}: a PostgreSQL name cannot hold a NUL")
    return '"' + name.replace('"', '""') + '"'


def restorer_of(database: str) -> str:
    """The throwaway role that restores `database` (a plain name: DATABASE_NAME)."""
    return f"{ROLE_PREFIX}{database}"[:NAME_BYTES]


def owner_of(new: NewStack, database: str) -> str:
    """The live database's owner, who will own what the dump defines: refused if a
    superuser (its functions would run with a superuser's rights)."""
    where = f"FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = " \
            f"'{database}'"
    found = new.run("postgres", f"SELECT r.rolsuper {where}", f"SELECT r.rolname {where}")
    superuser, _, owner = found.partition("\n")
    owner = owner.removesuffix("\n")
    if superuser == "t":
        raise OperationError(
            f"database {database} is owned by {owner!r}, a superuser: what the old server's "
            "dump defines (functions that run with their owner's rights among it) would be "
            f"a superuser's. Give it to the apps' role (`ALTER DATABASE {database} OWNER TO "
            "app` in the db container), then copy again; nothing was changed")
    return owner


def prepare(new: NewStack, incoming: str, role: str) -> None:
    """A fresh `incoming` owned by a fresh `role` (an interrupted copy's are dropped)."""
    new.run("postgres", f"DROP DATABASE IF EXISTS {incoming}", f"DROP ROLE IF EXISTS {role}",
            CREATE_ROLE.format(role=role), f"CREATE DATABASE {incoming} OWNER {role}")


@contextmanager
def login_for(new: NewStack, role: str, database: str) -> Iterator[None]:
    """While inside: `role` may log in to `database` on the container's socket."""
    try:
        new.execute(["sh", "-c", LOGIN_LINES, "sh", "allow", role, database],
                    f"letting {role} log in for the restore")
        yield
    finally:
        new.execute(["sh", "-c", LOGIN_LINES, "sh", "remove", role, database],
                    f"removing {role}'s login")


def restore_as(new: NewStack, role: str, database: str, dump: Iterable[bytes]) -> None:
    new.execute(["sh", "-c", RESTORE, "sh", role, database],
                f"pg_restore into {database} (as {role})", stdin=iter(dump))


def hand_over(new: NewStack, incoming: str, role: str, owner: str) -> None:
    """As the superuser: the role's sessions ended and its database settings reset before
    any superuser session opens `incoming`; what it made is the owner's; it is dropped."""
    new.run("postgres", f"ALTER ROLE {role} NOLOGIN",
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'",
            f"ALTER DATABASE {incoming} RESET ALL")
    new.run(incoming, f"REASSIGN OWNED BY {role} TO {quote_identifier(owner)}",
            f"DROP OWNED BY {role}")
    new.run("postgres", f"DROP ROLE {role}")
