"""`backup.restore`: a complete run's data back into the live stack.

A dump is restored in one transaction (`pg_restore --single-transaction`: a failure
leaves the database as it was) while the services that use it are stopped; a volume's
or bind's files replace what is there while the services mounting it are stopped; all
are started again after, also on failure. Each restore is a line of the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from ...console import Say
from ...declaration.model import Bind, Stack, VolumeMount
from ...engine.backend import Engine
from ...errors import OperationError
from ...hostfiles.files import HostFiles
from ...planning import backup as b
from ..records.history import record_lines
from ._helper import Helper, helper
from ._pipe import pipe
from .run import declared_backup, ensure_listable, manifests


@dataclass(frozen=True)
class Restored:
    manifest: b.Manifest
    parts: list[str]
    stopped: list[str]  # containers stopped meanwhile, started again


def chosen_parts(stack: Stack, service: str) -> list[b.Part]:
    backup = declared_backup(stack)
    every = b.parts(stack, backup)
    chosen = [p for p in every if not service or service in (p.service, p.name)]
    if not chosen:
        raise OperationError(f"--service {service!r}: nothing of it is backed up; backed up: "
                             + ", ".join(p.name for p in every))
    return chosen


def users_of(stack: Stack, part: b.Part) -> set[str]:
    """The services to stop while the part is put back."""
    if part.kind in ("postgres", "dump"):
        return {s.name for s in stack.services if part.service in s.depends_on}
    return {s.name for s in stack.services for m in s.mounts
            if (isinstance(m, VolumeMount) and part.kind == "volume" and m.volume == part.name)
            or (isinstance(m, Bind) and part.kind == "bind" and m.source == part.name)}


def restore(engine: Engine, stack: Stack, files: HostFiles, say: Say, snapshot: str = "",
            service: str = "") -> Restored:
    backup = declared_backup(stack)
    parts = chosen_parts(stack, service)
    with helper(engine, stack, backup, say, parts, writable=True) as h:
        ensure_listable(h)
        manifest = b.pick(manifests(h), snapshot)
        if manifest is None:
            raise OperationError(f"no complete backup {snapshot!r} in {h.where}" if snapshot
                                 else f"no complete backup in {h.where} yet: `invoke "
                                 "backup.run` first")
        users = set().union(*(users_of(stack, p) for p in parts))
        running = [r.name for r in engine.project_containers(stack.project)
                   if r.service in users and r.state == "running"]
        result = "ok"
        try:
            for name in running:
                engine.stop(name)
            for part in parts:
                _restore_part(engine, stack, h, manifest, part, say)
        except BaseException as error:
            result = f"failed: {str(error).splitlines()[0] if str(error) else error!r}"
            raise
        finally:
            for name in running:
                engine.start(name)
            record_lines(stack, files, f"restore {manifest.run}", [p.name for p in parts],
                         result, kind="restore")
    return Restored(manifest, [p.name for p in parts], running)


def _restore_part(engine: Engine, stack: Stack, h: Helper, manifest: b.Manifest,
                  part: b.Part, say: Say) -> None:
    entry = manifest.parts.get(part.name)
    if entry is None:
        say(f"restore: {part.name} is not in backup {manifest.run}; left as it is")
        return
    if part.kind in ("postgres", "dump"):
        backup = declared_backup(stack)
        container = stack.container_name(part.service)
        if engine.state(container) != "running":
            raise OperationError(f"{part.service} is not running: deploy it first")
        pipe(engine, (h.name, ["restic", "dump", entry["snapshot"], f"/{part.filename}"]),
             (container, b.restore_command(backup, part)), lambda: None, lambda data: None)
        say(f"restore: {part.name} restored from {manifest.run}")
        return
    # What the snapshot holds replaces the folder's contents (nothing left from after).
    h.shell(f"find {part.path} -mindepth 1 -delete")
    h.restic(["restic", "restore", entry["snapshot"], "--target", "/"])
    found = b.parse_digests(h.shell(f"cd {part.path} && {b.DIGESTS}"))
    check = b.DrillResult()
    b.compare_files(part.name, entry.get("files", {}), found, check)
    if not check.passed:
        raise OperationError("restore: " + "; ".join(check.problems))
    say(f"restore: {part.name}: {check.checked[part.name]} ({manifest.run})")
