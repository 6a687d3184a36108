"""`backup.run`: every declared part into the repository, then the manifest that makes the
run complete, then retention. Nothing is deleted before the new run is complete."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from ...console import Say
from ...declaration.backup import Backup
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
    steps = b.run_steps(stack, backup)
    sealed: dict[str, Any]
    with helper(engine, stack, backup, say, b.parts(stack, backup)) as h:
        run, sealed = "", {}  # the seal's JSON line: the manifest as written
        for step in steps:
            out = _step(engine, stack, h, step, run)
            if step.helper[1] == "begin":
                run = out.strip().splitlines()[-1]
                if "new repository" in out:
                    say(f"backup: new repository at {h.where} (encrypted with the secret "
                        f"{backup.password!r}: keep a copy of it off the server)")
            elif step.helper[1] == "seal":
                sealed = json.loads(out.strip().splitlines()[-1])
                say(f"backup: {sealed['kept']} complete runs kept, {sealed['removed']} "
                    "snapshots of others removed")
            elif out.strip():
                say(f"backup {run}: {out.strip().splitlines()[-1]}")
    manifest = b.Manifest(sealed["run"], sealed["time"], sealed["parts"], sealed["snapshot"])
    say(f"backup {run}: complete (manifest {manifest.snapshot[:8]})")
    return manifest


def _step(engine: Engine, stack: Stack, h: Helper, step: b.Step, run: str) -> str:
    """One step's standard output; OperationError saying what a failure means."""
    if step.source is None:
        return h.restic(step.helper)
    service, command = step.source
    container = _container(engine, stack, service)
    out = bytearray()
    try:
        pipe(engine, (container, command), (h.name, step.helper), lambda: _kill_restic(h),
             out.extend)
    except OperationError as error:
        _forget_part(h, run, step.part)
        known = h.known(str(error))
        raise OperationError(f"backup {run}: the dump {step.part} ({service}): "
                             + (f"{known} ({error})" if known else f"{error}; this run is "
                                "not complete, nothing was deleted")) from error
    return out.decode(errors="replace")


def _forget_part(h: Helper, run: str, part: str) -> None:
    """A part restic saved before the kill reached it (the source's end raced the kill):
    removed, so nothing of a failed dump is left looking like data. The next complete
    run's seal removes any part no manifest names anyway."""
    with contextlib.suppress(OperationError):
        h.restic(["restic", "forget", "--tag", f"run={run},part={part}"])


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


def _kill_restic(h: Helper) -> None:
    """Before it saves a snapshot; its lock in the repository is then stale (its process
    gone from this helper), and removed so the next command is not refused."""
    h.engine.exec(h.name, ["pkill", "-KILL", "-x", "restic"])
    h.engine.exec(h.name, ["restic", "unlock"])


def snapshots(h: Helper, tag: str) -> list[dict[str, Any]]:
    found = json.loads(h.restic(["restic", "snapshots", "--json", "--tag", tag]) or "[]")
    return list(found or [])


def manifests(h: Helper) -> list[b.Manifest]:
    found = []
    for snapshot in snapshots(h, b.MANIFEST_TAG):
        data = h.restic(["restic", "dump", snapshot["id"], f"/{b.MANIFEST_FILE}"])
        found.append(b.Manifest.decode(data.encode(), snapshot["id"]))
    return found
