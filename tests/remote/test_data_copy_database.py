"""`data.copy --database`: how the copy replaces the new stack's live database.

The swap with sessions open (ended, and no connection ever finds the database missing),
the bounded number of replaced databases kept, and the refusals that leave the live
database as it was. The tests work on databases of their own (`pjswap`, `pjdict`,
`pjlatin`), made on both servers and dropped after, so test_data_copy.py's `app` is left
alone.
"""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pojemnik.operations.data._database import KEEP

from .conftest import Deployment
from .hosts import RemoteHost

pytestmark = pytest.mark.remote

DB = "pjswap"
APP_PREFIX = "pjswap-test-"  # application_name of the sessions the tests open
STOP_FILE = "/run/postgresql/pjswap-test-stop"  # ends the prober (tmpfs, mode 1777)
# As postgres on the old server; this SQL is UTF-8 whatever the database's encoding.
OLD_PSQL = "runuser -u postgres -- env PGCLIENTENCODING=UTF8 psql -X -q -v ON_ERROR_STOP=1 -At"
SCHEMA = """SET ROLE app;
CREATE TABLE notes (id serial PRIMARY KEY, title text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO notes (title, created_at)
SELECT 'note ' || i, timestamptz '2024-01-01 00:00+00' + i * interval '1 hour'
FROM generate_series(1, 200) AS i;
CREATE TABLE tags (note_id integer NOT NULL REFERENCES notes (id), name text NOT NULL);
INSERT INTO tags SELECT i, 'tag ' || i % 7 FROM generate_series(1, 200, 3) AS i;"""


@dataclass(frozen=True)
class Sides:
    """SQL on the old server (as postgres) and in the new stack's db container."""

    old: RemoteHost  # root@old-server
    new: RemoteHost  # deploy@server (group docker)
    container: str

    def old_sql(self, sql: str, database: str = DB) -> str:
        return self.old.run(f"cd / && {OLD_PSQL} -d {database} -c {shlex.quote(sql)}").text

    def new_sql(self, sql: str, database: str = DB) -> str:
        return self.new.run(f"docker exec {self.container} psql -X -q -v ON_ERROR_STOP=1 "
                            f"-At -d {database} -c {shlex.quote(sql)}").text

    def new_psql(self, database: str, application: str, sql: str) -> str:
        """A `docker exec ... psql` command line, for a session run in the background."""
        return shlex.join(["docker", "exec", self.container, "psql", "-X", "-At", "-d",
                           f"dbname={database} application_name={APP_PREFIX}{application}",
                           "-c", sql])

    def databases(self, prefix: str) -> list[str]:
        names = self.new_sql("SELECT datname FROM pg_database", "postgres").split()
        return sorted(name for name in names if name.startswith(prefix))

    def live(self, database: str = DB) -> tuple[str, str]:
        """The live database's identity (oid, accepts connections) and its rows."""
        identity = self.new_sql("SELECT oid, datallowconn FROM pg_database "
                                f"WHERE datname = '{database}'", "postgres")
        rows = self.new_sql("SELECT count(*), md5(string_agg(n::text, ',' ORDER BY id)) "
                            "FROM notes AS n", database)
        return identity, rows

    def stop_background(self) -> None:
        """End what the tests left running remotely (killing the ssh client would not)."""
        ended = (f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 f"WHERE application_name LIKE '{APP_PREFIX}%'")
        self.new.run(f"docker exec {self.container} touch {STOP_FILE}")
        self.new_sql(ended, "postgres")
        self.old_sql(ended, "postgres")


@pytest.fixture(scope="module")
def sides(deployment: Deployment, server: RemoteHost,
          old_server: RemoteHost) -> Iterator[Sides]:
    """`pjswap` on the old server, copied once into the new stack (so it has a live one)."""
    found = Sides(old_server, server, f"{deployment.project}-db")
    found.old_sql(f"CREATE DATABASE {DB} OWNER app", "postgres")
    found.new_sql(f"CREATE DATABASE {DB} OWNER app", "postgres")
    try:
        found.old_sql(SCHEMA)
        copy(deployment, server, old_server)
        yield found
    finally:
        found.stop_background()
        found.new.run(f"docker exec {found.container} rm -f {STOP_FILE}")
        for name in found.databases(DB):
            found.new_sql(f"DROP DATABASE {name} WITH (FORCE)", "postgres")
        found.old_sql(f"DROP DATABASE {DB} WITH (FORCE)", "postgres")


def source_of(old: RemoteHost) -> str:
    return f"{old.user}@{old.host}:{old.port}"


def copy(deployment: Deployment, server: RemoteHost, old: RemoteHost, database: str = DB,
         ok: bool = True) -> str:
    result = deployment.fab(server.as_user("root"), "data.copy", "--source", source_of(old),
                            "--database", database, check=ok)
    output = result.stdout + result.stderr
    if not ok:
        assert result.returncode != 0, output
        assert "Traceback" not in output, output
    return output


def change_old(sides: Sides) -> str:
    """A new row on the old server, so the next copy is not "already the same"."""
    title = f"changed {secrets.token_hex(4)}"
    sides.old_sql(f"INSERT INTO notes (title, created_at) VALUES ('{title}', now())")
    return title


@dataclass
class Background:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def finish(self) -> str:
        self.process.wait(timeout=120)
        return self.output()


@pytest.fixture()
def background(sides: Sides, tmp_path: Path) -> Iterator[Callable[..., Background]]:
    """Start a command over SSH in the background, its output in a file; all are ended."""
    started: list[Background] = []

    def start(host: RemoteHost, command: str) -> Background:
        log = tmp_path / f"background-{len(started)}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(host.ssh_argv(command),
                                       stdin=subprocess.DEVNULL, stdout=sink,
                                       stderr=subprocess.STDOUT)
        started.append(Background(process, log))
        return started[-1]

    yield start
    sides.stop_background()
    sides.new.run(f"docker exec {sides.container} rm -f {STOP_FILE}")
    for job in started:
        try:
            job.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            job.process.kill()
            job.process.wait()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.2)


def session_count(sides: Sides, application: str, old: bool = False) -> int:
    sql = (f"SELECT count(*) FROM pg_stat_activity WHERE application_name = "
           f"'{APP_PREFIX}{application}' AND state = 'active'")
    return int(sides.old_sql(sql, "postgres") if old else sides.new_sql(sql, "postgres"))


# --- the swap with sessions open -----------------------------------------------------------

# In the db container: one short connection after another, each answer on one line after
# the time it was asked, until the copied row was seen 5 times (or the stop file appears).
# $1 stop file, $2 the query.
PROBE = r"""seen=0
until [ -e "$1" ] || [ "$seen" -ge 5 ]; do
  at=$EPOCHREALTIME
  out=$(psql -X -At -d pjswap -c "$2" 2>&1)
  echo "$at ${out//$'\n'/ | }"
  if [ "$out" = 1 ]; then seen=$((seen + 1)); fi
done"""
# Connected to `postgres`: reads pg_database again and again (each statement of a DO block
# sees what was committed before it) until pjswap is another database, counting the
# reads that found no pjswap at all. Without pause once the restore has begun (a moment
# between two renames is short), every 10 ms before.
WATCH = f"""DO $$
DECLARE
  first oid := (SELECT oid FROM pg_database WHERE datname = '{DB}');
  seen oid;
  checks bigint := 0;
  missing bigint := 0;
BEGIN
  WHILE clock_timestamp() < now() + interval '10 minutes' LOOP
    SELECT oid INTO seen FROM pg_database WHERE datname = '{DB}';
    checks := checks + 1;
    IF seen IS NULL THEN
      missing := missing + 1;
    ELSIF seen <> first THEN
      RAISE NOTICE 'swapped after % checks; missing in % of them', checks, missing;
      RETURN;
    ELSIF NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DB}_incoming') THEN
      PERFORM pg_sleep(0.01);
    END IF;
  END LOOP;
  RAISE NOTICE 'no swap seen in % checks', checks;
END $$"""
# What a client may be told while the swap happens; anything else is a failure (above
# all a bare "does not exist": a moment with no database of that name).
REFUSED = ("is not currently accepting connections",  # blocked for the swap
           "terminating connection due to administrator command",  # ended for the swap
           "server closed the connection unexpectedly",  # ended for the swap, too
           "It seems to have just been dropped or renamed")  # started during the rename


def answer_kind(line: str) -> str:
    answer = line.partition(" ")[2]
    if answer in ("0", "1"):
        return "old" if answer == "0" else "new"
    return "refused" if any(reason in answer for reason in REFUSED) else "other"


def refused_for(refused: list[list[str]]) -> float:
    """From the first refused connection to the last (a measure, not a limit)."""
    return float(refused[-1][0]) - float(refused[0][0]) if refused else 0.0


def test_the_swap_ends_open_sessions_and_no_connection_finds_the_database_missing(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost, sides: Sides,
        background: Callable[..., Background]) -> None:
    """A session stays open on the live database (its renaming would wait for it, then
    fail), a watcher reads pg_database in a loop and a prober connects in a loop, all
    during the copy: the session is ended, no committed moment lacks the database, and
    connections see the old rows, are refused for a moment, then see the new ones."""
    title = change_old(sides)
    held = background(server, sides.new_psql(DB, "held", "SELECT pg_sleep(3600)"))
    watcher = background(server, sides.new_psql("postgres", "watch", WATCH))
    wait_for(lambda: session_count(sides, "held") == 1 and session_count(sides, "watch") == 1,
             "the held session and the watcher")
    query = f"SELECT count(*) FROM notes WHERE title = '{title}'"
    prober = background(server, shlex.join(["docker", "exec", sides.container, "bash", "-c",
                                            PROBE, "probe", STOP_FILE, query]))
    wait_for(lambda: " 0\n" in prober.output(), "the prober's first answer")

    output = copy(deployment, server, old_server)
    assert "swapped in" in output
    kept = re.search(rf"kept as ({DB}_before_copy_\d+)", output)
    assert kept, output

    held_output = held.finish()  # ended by the swap, not waited for
    assert held.process.returncode != 0
    assert "terminating connection due to administrator command" in held_output
    watched = watcher.finish()
    counts = re.search(r"swapped after (\d+) checks; missing in (\d+)", watched)
    assert counts and int(counts[1]) > 0, watched
    assert counts[2] == "0", f"{DB} was missing from pg_database: {watched}"
    answers = prober.finish().splitlines()
    kinds = [answer_kind(answer) for answer in answers]
    refused = [line.split(" ", 1) for line, kind in zip(answers, kinds, strict=True)
               if kind == "refused"]
    print(f"prober: {Counter(kinds)}, refused for {refused_for(refused):.2f} s: "
          f"{Counter(why for _, why in refused).most_common(3)}; watcher: {watched.strip()}")
    assert "other" not in kinds, answers
    served = [kind for kind in kinds if kind != "refused"]
    assert served[0] == "old" and served[-1] == "new", answers
    assert "old" not in served[served.index("new"):], answers  # never back to the old one

    assert sides.new_sql(query) == "1\n"
    assert sides.new_sql(query, kept[1]) == "0\n"  # the replaced one, whole and reachable
    assert sides.new_sql(f"SELECT string_agg(datallowconn::text, ',') FROM pg_database "
                         f"WHERE datname IN ('{DB}', '{kept[1]}')", "postgres") == "true,true\n"


# --- replaced databases kept ---------------------------------------------------------------

def test_only_the_newest_replaced_databases_are_kept(deployment: Deployment,
                                                     server: RemoteHost,
                                                     old_server: RemoteHost,
                                                     sides: Sides) -> None:
    kept = []
    for round_ in range(KEEP + 1):
        if round_ == 1:
            # One row changed on the new server only: same row counts, found by the digest.
            sides.new_sql("UPDATE notes SET title = 'edited on the new server' WHERE id = 1")
        else:
            change_old(sides)
        output = copy(deployment, server, old_server)
        found = re.search(rf"kept as ({DB}_before_copy_\d+)", output)
        assert found, output
        kept.append(found[1])
    assert kept == sorted(set(kept))  # distinct, and their names sort as they were made
    assert sides.databases(f"{DB}_before_copy_") == kept[-KEEP:]
    assert f"database {kept[0]}: dropped" in output
    assert sides.new_sql("SELECT title FROM notes WHERE id = 1") == "note 1\n"


def test_a_copy_killed_inside_the_swap_is_mended_by_the_next_one(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost,
        sides: Sides) -> None:
    # Where a copy killed between blocking connections and the renames leaves the live
    # database (and one killed after the renames, the kept one): refusing connections.
    if not sides.databases(f"{DB}_before_copy_"):
        change_old(sides)
        copy(deployment, server, old_server)
    kept = sides.databases(f"{DB}_before_copy_")[-1]
    for name in (DB, kept):
        sides.new_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false", "postgres")
    change_old(sides)
    output = copy(deployment, server, old_server)
    assert f"database {DB}: connections allowed again" in output
    assert f"database {kept}: connections allowed again" in output
    assert f"database {DB}: swapped in" in output
    for name in (DB, kept):
        assert sides.new_sql("SELECT count(*) FROM notes", name).strip().isdigit()


# --- refusals leave the live database as it was -------------------------------------------

def test_a_failed_restore_leaves_the_live_database_as_it_was(deployment: Deployment,
                                                             server: RemoteHost,
                                                             old_server: RemoteHost,
                                                             sides: Sides) -> None:
    """The old server has a role the new one lacks (a reporting role in a policy): the
    restore stops with an error, and nothing of the live database changed."""
    before, replaced = sides.live(), sides.databases(f"{DB}_before_copy_")
    sides.old_sql("CREATE ROLE pjswap_reporting", "postgres")
    try:
        sides.old_sql("ALTER TABLE notes ENABLE ROW LEVEL SECURITY; CREATE POLICY reporting "
                      "ON notes FOR SELECT TO pjswap_reporting USING (true)")
        change_old(sides)
        output = copy(deployment, server, old_server, ok=False)
        assert 'role "pjswap_reporting" does not exist' in output
        assert f"the live database {DB} is untouched" in output
        assert sides.live() == before
        assert sides.databases(f"{DB}_before_copy_") == replaced
    finally:
        sides.old_sql("DROP POLICY IF EXISTS reporting ON notes; "
                      "ALTER TABLE notes DISABLE ROW LEVEL SECURITY")
        sides.old_sql("DROP ROLE IF EXISTS pjswap_reporting", "postgres")


WRITER = """DO $$
BEGIN
  FOR i IN 1..60000 LOOP
    INSERT INTO notes (title, created_at) VALUES ('written during the copy', now());
    COMMIT;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$"""


def test_writes_on_the_old_server_during_the_copy_fail_verification(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost, sides: Sides,
        background: Callable[..., Background]) -> None:
    """The old apps still write while the copy runs: the dump is not what was counted and
    digested before it, so the copy is refused and the live database stays as it was.
    (The writer commits a row every 10 ms or so; between reading the old tables and the
    dump's snapshot the copy reads the live tables and creates a database, so rows land
    in between.)"""
    before, replaced = sides.live(), sides.databases(f"{DB}_before_copy_")
    written = "SELECT count(*) FROM notes WHERE title = 'written during the copy'"
    background(old_server, "cd / && " + shlex.join([
        "runuser", "-u", "postgres", "--", "psql", "-X", "-d",
        f"dbname={DB} application_name={APP_PREFIX}writer", "-c", WRITER]))
    try:
        wait_for(lambda: int(sides.old_sql(written)) > 0, "the writer's first row")
        output = copy(deployment, server, old_server, ok=False)
        assert "verification failed for tables ['public.notes']" in output
        assert f"the live database {DB} is untouched" in output
        assert sides.live() == before
        assert sides.databases(f"{DB}_before_copy_") == replaced
        assert f"{DB}_incoming" in sides.databases(DB)  # the attempt, to look at
    finally:
        sides.stop_background()
        sides.old_sql("DELETE FROM notes WHERE title = 'written during the copy'")


DICTIONARY = "pjdict"
# A search dictionary whose file was installed by hand on the old server: the new stack's
# image does not have it, so the restore stops at it, near the top of the dump.
SYNONYMS = "/usr/share/postgresql/15/tsearch_data/pjswap.syn"
WITH_DICTIONARY = """CREATE TEXT SEARCH DICTIONARY pjswap_synonyms (TEMPLATE = synonym,
                                                   SYNONYMS = pjswap);
SET ROLE app;
CREATE TABLE bulk (line text);
INSERT INTO bulk SELECT repeat(md5(i::text), 32) FROM generate_series(1, 20000) AS i"""


def test_a_restore_that_stops_early_says_why_and_leaves_the_live_database(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost,
        sides: Sides) -> None:
    """psql stops at the dictionary with 20 MB of the dump still to come: the reason is
    psql's error (not a broken pipe), and the live database is as it was."""
    old_server.run(f"printf 'pojemnik container\\n' > {SYNONYMS}")
    sides.old_sql(f"CREATE DATABASE {DICTIONARY} OWNER app", "postgres")
    sides.new_sql(f"CREATE DATABASE {DICTIONARY} OWNER app", "postgres")
    try:
        sides.old_sql(WITH_DICTIONARY, DICTIONARY)
        sides.new_sql("SET ROLE app; CREATE TABLE mine (x integer); INSERT INTO mine VALUES (1)",
                      DICTIONARY)
        identity = sides.new_sql(f"SELECT oid FROM pg_database WHERE datname = '{DICTIONARY}'",
                                 "postgres")
        output = copy(deployment, server, old_server, DICTIONARY, ok=False)
        assert 'could not open synonym file' in output and "pjswap.syn" in output
        assert f"the restore failed; the live database {DICTIONARY} is untouched" in output
        assert sides.new_sql(f"SELECT oid FROM pg_database WHERE datname = '{DICTIONARY}'",
                             "postgres") == identity
        assert sides.new_sql("SELECT x FROM mine", DICTIONARY) == "1\n"
        assert sides.databases(DICTIONARY) == [DICTIONARY, f"{DICTIONARY}_incoming"]
    finally:
        for name in sides.databases(DICTIONARY):
            sides.new_sql(f"DROP DATABASE {name} WITH (FORCE)", "postgres")
        sides.old_sql(f"DROP DATABASE IF EXISTS {DICTIONARY} WITH (FORCE)", "postgres")
        old_server.run(f"rm -f {SYNONYMS}")


# --- an old server set up its own way ----------------------------------------------------

LATIN = "pjlatin"
TABLESPACE = "/srv/pjswap-tablespace"  # on the old server: a second disk, say
# Settings a PostgreSQL installed on an old Polish server may well have: they change how
# values are printed (COPY's text), not the values.
OLD_SETTINGS = ("timezone = 'Europe/Warsaw'", "datestyle = 'SQL, DMY'",
                "intervalstyle = 'sql_standard'", "extra_float_digits = 0",
                "bytea_output = 'escape'")
INVOICES = """SET ROLE app;
CREATE TABLE "Faktury 2019" (id integer PRIMARY KEY, nazwa text, wystawiona timestamptz,
                             termin interval, kwota float8, skan bytea, dzien date)
  TABLESPACE pjswap_disk;
INSERT INTO "Faktury 2019" VALUES
  (1, 'Zażółć gęślą jaźń', '2019-03-31 01:30:00+00', '1 day 02:03:04', 0.1, '\\x00ff41',
   '2019-12-31'),
  (2, E'tab\\there\\nand a new line', '2019-10-27 00:59:59+00', '-3 mons', 1e300 / 3,
   'plain', '2019-01-02'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL)"""
# The values, printed the same whatever the session's settings.
INVOICE_VALUES = """SELECT id, nazwa, extract(epoch FROM wystawiona), extract(epoch FROM termin),
       encode(float8send(kwota), 'hex'), encode(skan, 'hex'), dzien - date '2000-01-01'
FROM "Faktury 2019" ORDER BY id"""


def test_an_old_server_set_up_its_own_way_is_copied_and_verified(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost,
        sides: Sides) -> None:
    """A LATIN2 database on an old server in Warsaw's time zone, with other date, interval,
    float and bytea output settings, and a table in a tablespace of its own whose name has
    a space: copied, verified (values, not how each server prints them) and swapped in."""
    sides.old_sql(f"CREATE DATABASE {LATIN} OWNER app ENCODING 'LATIN2' LC_COLLATE 'C' "
                  "LC_CTYPE 'C' TEMPLATE template0", "postgres")
    sides.new_sql(f"CREATE DATABASE {LATIN} OWNER app", "postgres")
    old_server.run(f"install -d -o postgres -g postgres -m 0700 {TABLESPACE}")
    sides.old_sql(f"CREATE TABLESPACE pjswap_disk OWNER app LOCATION '{TABLESPACE}'",
                  "postgres")
    try:
        for setting in OLD_SETTINGS:
            sides.old_sql(f"ALTER DATABASE {LATIN} SET {setting}", "postgres")
        sides.old_sql(INVOICES, LATIN)
        output = copy(deployment, server, old_server, LATIN)
        assert f"database {LATIN}: swapped in" in output
        assert 'public."Faktury 2019" 3' in output
        assert sides.new_sql(INVOICE_VALUES, LATIN) == sides.old_sql(INVOICE_VALUES, LATIN)
        again = copy(deployment, server, old_server, LATIN)
        assert "already the same" in again
    finally:
        for name in sides.databases(LATIN):
            sides.new_sql(f"DROP DATABASE {name} WITH (FORCE)", "postgres")
        sides.old_sql(f"DROP DATABASE IF EXISTS {LATIN} WITH (FORCE)", "postgres")
        sides.old_sql("DROP TABLESPACE IF EXISTS pjswap_disk", "postgres")
        old_server.run(f"rm -rf {TABLESPACE}")


# --- a hostile old server ----------------------------------------------------------------

EVIL = "pjswap_evil"  # a superuser role the old server's dump tries to make
# A comment on notes, in the dump's table of contents as plain text; the wrapper below puts
# the hostile SQL in its place, padded to the same length (so a custom archive stays valid).
COMMENT = f"COMMENT ON TABLE public.notes IS '{'x' * 100}';"
HOSTILE = (f"RESET ROLE; RESET SESSION AUTHORIZATION; CREATE ROLE {EVIL} SUPERUSER; "
           "SET ROLE app;")  # and back, so the rest of the dump restores as it should
PATTERN = r"COMMENT ON TABLE public\.notes IS \x27x{100}\x27;"  # COMMENT, for perl
PG_DUMP = f"""#!/bin/sh
# pjremote test: the old server's pg_dump, in whatever format asked, made hostile.
/usr/bin/pg_dump "$@" | perl -0777 -pe 's/{PATTERN}/{HOSTILE.ljust(len(COMMENT))}/'
"""


def roles(sides: Sides, *names: str) -> list[str]:
    """Which of `names` exist as roles in the new stack."""
    listed = ", ".join(f"'{name}'" for name in names)
    return sides.new_sql(f"SELECT rolname FROM pg_roles WHERE rolname IN ({listed})",
                         "postgres").split()


def test_a_hostile_dump_cannot_regain_the_superusers_rights(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost,
        sides: Sides) -> None:
    """The old server's pg_dump output leaves the restore's role (RESET ROLE, RESET SESSION
    AUTHORIZATION) and makes a superuser: the restore's login role is one that can do no
    more than fill the new database, so it fails, and the live database is as it was."""
    before, replaced = sides.live(), sides.databases(f"{DB}_before_copy_")
    sides.old_sql(f"COMMENT ON TABLE notes IS '{'x' * 100}'")
    old_server.run("cat > /usr/local/bin/pg_dump && chmod 755 /usr/local/bin/pg_dump",
                   stdin=PG_DUMP.encode())
    try:
        dumped = old_server.run(f"cd / && runuser -u postgres -- pg_dump --format=custom {DB}"
                                f" | grep -acF {shlex.quote(HOSTILE)}", check=False)
        assert dumped.text.strip() == "1", "the wrapper did not make the dump hostile"
        change_old(sides)
        result = deployment.fab(server.as_user("root"), "data.copy", "--source",
                                source_of(old_server), "--database", DB, check=False)
        output = result.stdout + result.stderr
        assert roles(sides, EVIL, f"pojemnik_restore_{DB}") == [], output
        assert result.returncode != 0 and "Traceback" not in output, output
        assert "must be superuser to create superusers" in output, output
        assert f"the live database {DB} is untouched" in output
        assert sides.live() == before
        assert sides.databases(f"{DB}_before_copy_") == replaced
        hba = server.run(f"docker exec {sides.container} sh -c "
                         "'cat \"$PGDATA/pg_hba.conf\" \"$PGDATA/pg_ident.conf\"'").text
        assert "pojemnik_restore" not in hba  # the restore's login is gone again
    finally:
        old_server.run("rm -f /usr/local/bin/pg_dump")
        sides.old_sql("COMMENT ON TABLE notes IS NULL")
        sides.new_sql(f"DROP ROLE IF EXISTS {EVIL}", "postgres")


TRAP = "pjtrap"
TRAP_ROLE = "pjtrap_evil"
# Chosen over pg_catalog.quote_ident(text) for a `name` argument by a session whose
# search_path has public: the superuser verifying the restored database, say.
TRAP_SQL = f"""SET ROLE app;
CREATE TABLE t (x integer);
INSERT INTO t VALUES (1), (2);
CREATE FUNCTION public.quote_ident(name) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{TRAP_ROLE}') THEN
    CREATE ROLE {TRAP_ROLE} SUPERUSER;
  END IF;
  RETURN pg_catalog.quote_ident($1::text);
END $$"""


def test_functions_of_the_restored_database_do_not_run_as_the_superuser(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost,
        sides: Sides) -> None:
    """The copy reads the tables of the restored (and the live) database as the superuser,
    with pg_catalog's functions only: a trap the dump defines does not run."""
    sides.old_sql(f"CREATE DATABASE {TRAP} OWNER app", "postgres")
    sides.new_sql(f"CREATE DATABASE {TRAP} OWNER app", "postgres")
    try:
        sides.old_sql(TRAP_SQL, TRAP)
        output = copy(deployment, server, old_server, TRAP)
        assert f"database {TRAP}: swapped in" in output
        assert roles(sides, TRAP_ROLE) == []
        assert sides.new_sql("SELECT count(*) FROM t", TRAP) == "2\n"
        assert sides.new_sql("SELECT pg_get_userbyid(proowner) FROM pg_proc "
                             "WHERE proname = 'quote_ident' AND pronamespace = "
                             "'public'::regnamespace", TRAP) == "app\n"
    finally:
        for name in sides.databases(TRAP):
            sides.new_sql(f"DROP DATABASE {name} WITH (FORCE)", "postgres")
        sides.old_sql(f"DROP DATABASE IF EXISTS {TRAP} WITH (FORCE)", "postgres")
        for sql in (sides.new_sql, sides.old_sql):
            sql(f"DROP ROLE IF EXISTS {TRAP_ROLE}", "postgres")


def test_a_database_a_superuser_owns_is_not_restored_into(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost,
        sides: Sides) -> None:
    """Its owner would own what the old server's dump defines: refused, nothing changed."""
    name = "pjsuper"
    sides.old_sql(f"CREATE DATABASE {name} OWNER app", "postgres")
    sides.new_sql(f"CREATE DATABASE {name}", "postgres")  # the superuser's
    try:
        sides.old_sql("SET ROLE app; CREATE TABLE t (x integer); INSERT INTO t VALUES (1)",
                      name)
        output = copy(deployment, server, old_server, name, ok=False)
        assert f"database {name} is owned by 'postgres', a superuser" in output, output
        assert f"ALTER DATABASE {name} OWNER TO app" in output
        assert sides.databases(name) == [name]
    finally:
        for each in sides.databases(name):
            sides.new_sql(f"DROP DATABASE {each} WITH (FORCE)", "postgres")
        sides.old_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", "postgres")
