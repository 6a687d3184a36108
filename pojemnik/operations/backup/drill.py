"""`backup.drill`: prove a backup by restoring it where it can harm nothing.

Each database dump goes into a throwaway container of the service's own image with no
network at all and no volume (its data dies with it), through `pg_restore`; its row
counts are compared with those recorded at backup time, and every dump's bytes with the
digest recorded then. Files are restored inside the helper and compared file by file.
Last, `restic check --read-data` reads every pack of the repository: a corrupted or
tampered one fails the drill, whichever snapshot it belongs to."""

from __future__ import annotations

import uuid
from dataclasses import replace

from ...console import Say
from ...declaration.backup import Backup, Postgres
from ...declaration.model import LABEL_KIND, LABEL_NAME, LABEL_PROJECT, Stack, VolumeMount
from ...engine.backend import Engine
from ...errors import OperationError
from ...hostfiles.files import HostFiles
from ...planning import backup as b
from ...planning.spec import ContainerSpec, container_spec
from ..records.history import record_lines
from ._helper import Helper, helper
from ._pipe import pipe
from .run import declared_backup, ensure_listable, manifests

READY = 180.0  # seconds a throwaway database may take to start


def drill(engine: Engine, stack: Stack, files: HostFiles, say: Say,
          snapshot: str = "") -> tuple[b.Manifest, b.DrillResult]:
    backup = declared_backup(stack)
    result = b.DrillResult()
    with helper(engine, stack, backup, say, []) as h:
        ensure_listable(h)
        manifest = b.pick(manifests(h), snapshot)
        if manifest is None:
            raise OperationError(f"no complete backup {snapshot!r} to drill in {h.where}"
                                 if snapshot else "no complete backup to drill yet: "
                                 "`invoke backup.run` first")
        for part in b.parts(stack, backup):
            entry = manifest.parts.get(part.name)
            if entry is None:
                result.problems.append(f"{part.name}: declared, not in backup {manifest.run}")
            elif part.kind in ("postgres", "dump"):
                _drill_dump(engine, stack, backup, h, part, entry, result, say)
            else:
                _drill_files(h, part, entry, result)
        code, errors = engine.exec_stream(h.name, ["restic", "check", "--read-data"], (),
                                          lambda data: None)
        if code != 0:
            result.problems.append("repository check: " + _last_lines(errors))
        else:
            result.checked["repository"] = "every pack read and verified"
    record_lines(stack, files, f"drill {manifest.run}", sorted(result.checked),
                 "passed" if result.passed else f"failed: {len(result.problems)} problems",
                 kind="drill")
    return manifest, result


def _last_lines(text: str) -> str:
    return " / ".join(line.strip() for line in text.strip().splitlines()[-3:]) or "failed"


def _drill_dump(engine: Engine, stack: Stack, backup: Backup, h: Helper, part: b.Part,
                entry: dict[str, object], result: b.DrillResult, say: Say) -> None:
    dump = next(d for d in backup.dumps if d.name == part.name)
    read = ["restic", "dump", str(entry["snapshot"]), f"/{part.filename}"]
    if not isinstance(dump, Postgres):
        digest = _stream_digest(engine, h, read, part, result)
        if digest is not None:
            result.checked[part.name] = f"{entry.get('bytes')} bytes, digest as recorded"
        return
    spec = _throwaway(stack, part.service)
    engine.create_container(spec)
    try:
        engine.wait_ready(spec.name, READY)
        try:
            piped = pipe(engine, (h.name, read), (spec.name, b.restore_command(backup, part)),
                         lambda: None, lambda data: None)
        except OperationError as error:
            result.problems.append(f"{part.name}: {error}")
            return
        if piped.digest.hexdigest() != entry.get("sha256"):
            result.problems.append(f"{part.name}: the dump read back differs from the one "
                                   "saved (digest)")
        code, output = engine.exec(spec.name, b.counts_command(dump))
        if code != 0:
            result.problems.append(f"{part.name}: counting rows failed: {output.strip()}")
            return
        expected = entry.get("tables")
        b.compare_tables(part.name, expected if isinstance(expected, dict) else {},
                         b.parse_counts(output), result)
        say(f"drill: {part.name} restored into a throwaway {part.service}")
    finally:
        engine.remove_container(spec.name)


def _stream_digest(engine: Engine, h: Helper, read: list[str], part: b.Part,
                   result: b.DrillResult) -> str | None:
    import hashlib

    digest = hashlib.sha256()
    code, errors = engine.exec_stream(h.name, read, (), digest.update)
    if code != 0:
        result.problems.append(f"{part.name}: reading the dump failed: {_last_lines(errors)}")
        return None
    return digest.hexdigest()


def _throwaway(stack: Stack, service: str) -> ContainerSpec:
    """The service's container, renamed, without networks, volumes or published ports."""
    declared = stack.service(service)
    spec = container_spec(stack, replace(declared, ports=[], mounts=[
        m for m in declared.mounts if not isinstance(m, VolumeMount)]))
    name = f"{stack.project}-drill-{uuid.uuid4().hex[:8]}"
    return replace(spec, name=name, networks=[], read_only=False, restart="no",
                   labels={LABEL_PROJECT: stack.project, LABEL_KIND: "backup",
                           LABEL_NAME: name})


def _drill_files(h: Helper, part: b.Part, entry: dict[str, object],
                 result: b.DrillResult) -> None:
    target = f"/drill-{uuid.uuid4().hex[:6]}"
    try:
        h.restic(["restic", "restore", str(entry["snapshot"]), "--target", target])
        found = b.parse_digests(h.shell(f"cd {target}{part.path} && {b.DIGESTS}"))
    except OperationError as error:
        result.problems.append(f"{part.name}: {error}")
        return
    expected = entry.get("files")
    b.compare_files(part.name, expected if isinstance(expected, dict) else {}, found, result)
    h.shell(f"rm -rf {target}")
