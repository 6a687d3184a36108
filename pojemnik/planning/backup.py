"""Backups as data: the parts of a run, the restic command lines, the manifest a run
records, and the drill's comparison of a restored copy with it. Pure.

A run is several restic snapshots (one per dump, streamed with `--stdin`, and one per
volume or bind) tied by the tag `run=<id>`, and is complete only once its manifest (the
last snapshot, tagged `pojemnik-manifest`) is written: what it holds, the row counts and
file digests recorded at backup time. A run that failed half-way has no manifest, so
nothing lists, restores or keeps it as good.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..declaration.backup import Backup, Dump, Postgres
from ..declaration.model import Stack

TAG = "pojemnik"
MANIFEST_TAG = "pojemnik-manifest"
MANIFEST_FILE = "manifest.json"
DATA = "/data"  # where the helper mounts volumes and binds
REPOSITORY = "/repository"  # where the helper mounts a local repository
PASSWORD_FILE = "/run/secrets/backup_password"
SSH_KEY = "/run/secrets/backup_ssh_key"  # an sftp repository's login (image/ssh_config)
# Exact row counts of every user table, in one statement (count(*) per table).
ROW_COUNTS_SQL = (
    "SET search_path = pg_catalog; SELECT quote_ident(schemaname) || '.' || "
    "quote_ident(tablename), (xpath('/row/c/text()', query_to_xml(format("
    "'SELECT count(*) AS c FROM %I.%I', schemaname, tablename), false, true, '')))[1]::text "
    "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
# Every regular file under the current directory, with its sha256, in a stable order.
DIGESTS = "find . -type f -print0 | sort -z | xargs -0r sha256sum"


@dataclass(frozen=True)
class Part:
    name: str
    kind: str  # "postgres", "dump", "volume", "bind"
    service: str = ""  # a dump's service
    source: str = ""  # a volume's engine name, a bind's path on the host

    @property
    def path(self) -> str:
        """Where the helper sees a volume's or bind's files."""
        return f"{DATA}/{self.name.replace('/', '_')}"

    @property
    def filename(self) -> str:
        """A dump's file inside its snapshot."""
        return f"{self.name}.dump"


def parts(stack: Stack, backup: Backup) -> list[Part]:
    found = [Part(d.name, "postgres" if isinstance(d, Postgres) else "dump", d.service)
             for d in backup.dumps]
    found += [Part(v, "volume", source=stack.volume_name(v)) for v in backup.volumes]
    found += [Part(b, "bind", source=stack.host_path(b)) for b in backup.binds]
    return found


def dump_command(backup: Backup, part: Part) -> list[str]:
    dump = next(d for d in backup.dumps if d.name == part.name)
    if isinstance(dump, Dump):
        return list(dump.command)
    return ["pg_dump", "-Fc", "-h", dump.socket, "-U", dump.user, "-d", dump.database]


def restore_command(backup: Backup, part: Part, database: str | None = None) -> list[str]:
    """Reads the dump on standard input; a PostgreSQL restore is one transaction that
    drops and recreates what the dump holds."""
    dump = next(d for d in backup.dumps if d.name == part.name)
    if isinstance(dump, Dump):
        return list(dump.restore)
    return ["pg_restore", "-h", dump.socket, "-U", dump.user, "-d", database or dump.database,
            "--clean", "--if-exists", "--single-transaction", "--exit-on-error"]


def counts_command(dump: Postgres, database: str | None = None) -> list[str]:
    return ["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", dump.socket,
            "-U", dump.user, "-d", database or dump.database, "-c", ROW_COUNTS_SQL]


def parse_counts(output: str) -> dict[str, int]:
    rows = (line.rsplit("\t", 1) for line in output.splitlines() if "\t" in line)
    return {table: int(count) for table, count in rows}


def parse_digests(output: str) -> dict[str, str]:
    """`sha256sum` lines ("<digest>  ./path") -> path -> digest."""
    found = {}
    for line in output.splitlines():
        digest, _, path = line.partition("  ")
        if path:
            found[path.removeprefix("./")] = digest
    return found


PROGRAM = "pojemnik-backup"  # in the helper image: image/pojemnik_backup.py


@dataclass(frozen=True)
class Step:
    """One step of a run: `helper` runs in the backup helper; with a `source`, the
    service's command's standard output is its standard input (a pipe)."""

    helper: list[str]
    source: tuple[str, list[str]] | None = None  # (service, argv in its container)
    part: str = ""


def run_steps(stack: Stack, backup: Backup) -> list[Step]:
    """A run as argv lists, the same for `backup.run` (the SDK) and the server's agent
    (the docker CLI): begin, each dump and its row counts, each volume's and bind's files,
    and the seal that writes the manifest and applies the retention."""
    host = stack.project
    steps = [Step([PROGRAM, "begin", host])]
    for part in parts(stack, backup):
        if part.kind in ("postgres", "dump"):
            dump = next(d for d in backup.dumps if d.name == part.name)
            if isinstance(dump, Postgres):
                steps.append(Step([PROGRAM, "counts", part.name],
                                  (part.service, counts_command(dump)), part.name))
            steps.append(Step([PROGRAM, "dump", part.name, part.kind, part.service, host],
                              (part.service, dump_command(backup, part)), part.name))
        else:
            steps.append(Step([PROGRAM, "files", part.name, part.kind, part.path, host],
                              None, part.name))
    kept = backup.retention
    steps.append(Step([PROGRAM, "seal", host, ",".join(p.name for p in parts(stack, backup)),
                       str(kept.daily), str(kept.weekly), str(kept.monthly)]))
    return steps


def snapshot_id(output: str) -> str:
    """The id in `restic backup --json`'s summary line; "" when it made none."""
    for line in output.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(message, dict) and message.get("message_type") == "summary":
            return str(message.get("snapshot_id", ""))
    return ""


def run_of(snapshot: Mapping[str, Any]) -> str:
    return next((t[4:] for t in snapshot.get("tags") or [] if t.startswith("run=")), "")


@dataclass(frozen=True)
class Manifest:
    """What a complete run holds, as recorded while it ran."""

    run: str
    time: str  # UTC, ISO 8601
    parts: dict[str, dict[str, Any]]  # name -> kind, snapshot, bytes, tables|files
    snapshot: str = ""  # the manifest's own snapshot id (set when read back)

    def encode(self) -> bytes:
        return json.dumps({"run": self.run, "time": self.time, "parts": self.parts},
                          indent=1, sort_keys=True).encode()

    @classmethod
    def decode(cls, data: bytes, snapshot: str) -> Manifest:
        found = json.loads(data)
        return cls(found["run"], found["time"], found["parts"], snapshot)

    def size(self) -> int:
        return sum(int(p.get("bytes", 0)) for p in self.parts.values())


def pick(manifests: list[Manifest], wanted: str) -> Manifest | None:
    """The newest, or the one whose run or snapshot id starts with `wanted`."""
    ordered = sorted(manifests, key=lambda m: m.time, reverse=True)
    if not wanted:
        return ordered[0] if ordered else None
    return next((m for m in ordered if m.run.startswith(wanted)
                 or m.snapshot.startswith(wanted)), None)


@dataclass
class DrillResult:
    """Per part: what was expected and found, and what differs."""

    checked: dict[str, str] = field(default_factory=dict)  # part -> "12 tables, 340 rows"
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def compare_tables(part: str, expected: Mapping[str, int], found: Mapping[str, int],
                   result: DrillResult) -> None:
    for table in sorted(set(expected) | set(found)):
        want, got = expected.get(table), found.get(table)
        if want != got:
            result.problems.append(f"{part}: table {table}: {want if want is not None else 'none'}"
                                   f" rows at backup time, {got if got is not None else 'none'}"
                                   " restored")
    result.checked[part] = f"{len(found)} tables, {sum(found.values())} rows"


def compare_files(part: str, expected: Mapping[str, str], found: Mapping[str, str],
                  result: DrillResult) -> None:
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    changed = sorted(p for p in set(expected) & set(found) if expected[p] != found[p])
    for label, paths in (("missing", missing), ("not in the backup", extra),
                         ("differ", changed)):
        if paths:
            result.problems.append(f"{part}: {len(paths)} files {label}, e.g. {paths[0]}")
    same = len(expected) - len(missing) - len(changed)
    result.checked[part] = f"{same}/{len(expected)} files identical"
