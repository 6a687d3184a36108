"""`backup.run`: every declared part into the repository, then the manifest that makes the
run complete, then retention. Nothing is deleted before the new run is complete."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from ...console import Say
from ...declaration.backup import Backup, Postgres
from ...declaration.model import Stack
from ...engine.backend import Engine
from ...errors import OperationError
from ...hostfiles.files import HostFiles
from ...planning import backup as b
from ..records.history import record_lines
from ._helper import Helper, helper
from ._pipe import pipe


def declared_backup(stack: Stack) -> Backup:
    if stack.backup is None:
        raise OperationError(f"{stack.source} declares no backup: add backup=Backup(...) to "
                             "the Stack (see docs/guides/backups.md)")
    return stack.backup


def run_backup(engine: Engine, stack: Stack, say: Say,
               files: HostFiles | None = None) -> b.Manifest:
    """The run, and its line in the audit log (`files`: the host's), failed or not."""
    try:
        manifest = _run(engine, stack, say)
    except BaseException as error:
        if files is not None:
            first = str(error).splitlines()[0] if str(error) else repr(error)
            record_lines(stack, files, "backup", [], f"failed: {first}", kind="backup")
        raise
    if files is not None:
        record_lines(stack, files, f"backup {manifest.run}", sorted(manifest.parts), "ok",
                     kind="backup")
    return manifest


def _run(engine: Engine, stack: Stack, say: Say) -> b.Manifest:
    backup = declared_backup(stack)
    moment = datetime.now(UTC)
    run = f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:4]}"
    parts = b.parts(stack, backup)
    with helper(engine, stack, backup, say, parts) as h:
        ensure_repository(h, say)
        recorded: dict[str, dict[str, Any]] = {}
        for part in parts:
            if part.kind in ("postgres", "dump"):
                recorded[part.name] = _dump(engine, stack, backup, h, run, part)
            else:
                recorded[part.name] = _files(h, stack, run, part)
            say(f"backup {run}: {part.name} saved ({recorded[part.name]['bytes']} bytes)")
        manifest = b.Manifest(run, moment.isoformat(timespec="seconds"), recorded)
        out = h.restic(b.backup_stdin(run, b.MANIFEST_FILE, None, stack.project),
                       [manifest.encode()])
        manifest = b.Manifest(run, manifest.time, recorded, b.snapshot_id(out))
        say(f"backup {run}: complete (manifest {manifest.snapshot[:8]})")
        apply_retention(h, backup, say)
    return manifest


def ensure_repository(h: Helper, say: Say) -> None:
    """The repository, made on the first run; any other failure to open it is reported."""
    code, errors = h.engine.exec_stream(h.name, ["restic", "cat", "config"], (),
                                        lambda data: None)
    if code == 0:
        # Locks of a helper that ended with its time limit: stale, restic removes them.
        h.restic(["restic", "unlock"])
        return
    if "unable to open config file" not in errors and "Is there a repository" not in errors:
        raise OperationError(h.meaning(["restic", "cat"], errors))
    h.restic(["restic", "init"])
    say(f"backup: new repository at {h.where} (encrypted with the secret "
        f"{h.backup.password!r}: keep a copy of it off the server)")


def ensure_listable(h: Helper) -> None:
    """The repository opens (a clear error otherwise, e.g. none made yet), without the
    stale locks of a helper that ended at its time limit."""
    h.restic(["restic", "cat", "config"])
    h.restic(["restic", "unlock"])


def _container(engine: Engine, stack: Stack, service: str) -> str:
    name = stack.container_name(service)
    if engine.state(name) != "running":
        raise OperationError(f"{service} is not running ({name}: {engine.state(name) or 'none'})"
                             ": deploy the stack first; nothing was backed up of it")
    return name


def _dump(engine: Engine, stack: Stack, backup: Backup, h: Helper, run: str,
          part: b.Part) -> dict[str, Any]:
    container = _container(engine, stack, part.service)
    dump = next(d for d in backup.dumps if d.name == part.name)
    found: dict[str, Any] = {"kind": part.kind, "service": part.service}
    if isinstance(dump, Postgres):
        code, output = engine.exec(container, b.counts_command(dump))
        if code != 0:
            raise OperationError(f"counting {part.name}'s rows failed: {output.strip()[-400:]}")
        found["tables"] = b.parse_counts(output)
    out = bytearray()
    try:
        piped = pipe(engine, (container, b.dump_command(backup, part)),
                     (h.name, b.backup_stdin(run, part.filename, part.name, stack.project)),
                     lambda: _kill_restic(h), out.extend)
    except OperationError as error:
        raise OperationError(f"backup {run}: the dump {part.name} ({part.service}): {error}; "
                             "this run is not complete, nothing was deleted") from error
    snapshot = b.snapshot_id(out.decode(errors="replace"))
    if not snapshot:
        raise OperationError(f"restic saved no snapshot of {part.name}")
    return {**found, "snapshot": snapshot, "bytes": piped.bytes,
            "sha256": piped.digest.hexdigest()}


def _kill_restic(h: Helper) -> None:
    """Before it saves a snapshot; its lock in the repository is then stale (its process
    gone from this helper), and removed so the next command is not refused."""
    h.engine.exec(h.name, ["pkill", "-KILL", "-x", "restic"])
    h.engine.exec(h.name, ["restic", "unlock"])


def _files(h: Helper, stack: Stack, run: str, part: b.Part) -> dict[str, Any]:
    digests = b.parse_digests(h.shell(f"cd {part.path} && {b.DIGESTS}"))
    size = int(h.shell(f"du -sb {part.path} | cut -f1").strip() or 0)
    out = h.restic(b.backup_files(run, part, stack.project))
    return {"kind": part.kind, "snapshot": b.snapshot_id(out), "bytes": size,
            "files": digests, "path": part.path}


def apply_retention(h: Helper, backup: Backup, say: Say) -> None:
    """Complete runs by the declared counts (restic always keeps the newest), then the
    parts of runs no kept manifest names (forgotten runs, and runs that failed)."""
    h.restic(b.forget_manifests(backup.retention))
    kept = {b.run_of(s) for s in snapshots(h, b.MANIFEST_TAG)}
    orphans = [s["id"] for s in snapshots(h, b.TAG) if b.run_of(s) not in kept]
    if orphans:
        h.restic(["restic", "forget", *orphans])
    h.restic(["restic", "prune"])
    say(f"backup: {len(kept)} complete runs kept, {len(orphans)} snapshots of others removed")


def snapshots(h: Helper, tag: str) -> list[dict[str, Any]]:
    found = json.loads(h.restic(["restic", "snapshots", "--json", "--tag", tag]) or "[]")
    return list(found or [])


def manifests(h: Helper) -> list[b.Manifest]:
    found = []
    for snapshot in snapshots(h, b.MANIFEST_TAG):
        data = h.restic(["restic", "dump", snapshot["id"], f"/{b.MANIFEST_FILE}"])
        found.append(b.Manifest.decode(data.encode(), snapshot["id"]))
    return found
