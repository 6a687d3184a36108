#!/usr/bin/python3
"""`pojemnik-backup`: one backup run's steps, inside the backup helper container.

Installed in the helper image as /usr/local/bin/pojemnik-backup and run there by `docker
exec`, the same argv whether `invoke backup.run` (through the Docker SDK) or the server's
agent (through the docker CLI, on its schedule) runs them. Standard library only (the
image has Debian's python3 and restic, nothing of pojemnik). A run's state lives in the
helper's /tmp (a tmpfs) between its steps:

    begin HOST                      the repository opened (made on the first run); a run id
    counts NAME                     stdin: `psql` row counts (TABLE<TAB>COUNT) of dump NAME
    dump NAME KIND SERVICE HOST     stdin: the dump, streamed into `restic backup --stdin`
    files NAME KIND PATH HOST       a volume's or bind's files: digests, then restic backup
    seal HOST PARTS DAILY WEEKLY MONTHLY
                                    every declared part saved? the manifest (which makes the
                                    run complete), then retention; prints the manifest

A step that fails exits non-zero with restic's own message on standard error, and the run
stops there: without `seal` there is no manifest, so nothing lists, restores or keeps the
run as good; the next complete run's retention removes what it left.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

STATE = Path("/tmp/pojemnik-run")
TAG, MANIFEST_TAG, MANIFEST_FILE = "pojemnik", "pojemnik-manifest", "manifest.json"
DATA = "/data"
CHUNK = 1 << 20


class Failed(Exception):
    """A step that cannot go on; its message goes to standard error."""


def restic(args: list[str], stdin: bytes | None = None) -> str:
    done = subprocess.run(["restic", *args], input=stdin, capture_output=True)
    if done.returncode != 0:
        raise Failed(done.stderr.decode(errors="replace").strip() or
                     f"restic {args[0]} exited {done.returncode}")
    return done.stdout.decode(errors="replace")


def tags(run: str, part: str | None) -> list[str]:
    chosen = [TAG, f"run={run}"] + ([f"part={part}"] if part else [MANIFEST_TAG])
    return [arg for tag in chosen for arg in ("--tag", tag)]


def snapshot_id(output: str) -> str:
    for line in output.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(message, dict) and message.get("message_type") == "summary":
            return str(message.get("snapshot_id", ""))
    return ""


def current_run() -> dict[str, str]:
    try:
        return dict(json.loads((STATE / "run.json").read_text()))
    except FileNotFoundError:
        raise Failed("no run begun in this helper: `pojemnik-backup begin` first") from None


def save_part(name: str, found: dict[str, object]) -> None:
    path = STATE / "parts" / f"{name}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**old, **found}))


def begin(host: str) -> None:
    """The repository opens (a new one is made); stale locks of a helper that ended at its
    time limit are removed; a new run id."""
    opened = subprocess.run(["restic", "cat", "config"], capture_output=True)
    errors = opened.stderr.decode(errors="replace")
    if opened.returncode == 0:
        restic(["unlock"])
    elif "unable to open config file" in errors or "Is there a repository" in errors:
        restic(["init"])
        print("new repository", flush=True)
    else:
        raise Failed(errors.strip() or "restic cat config failed")
    moment = datetime.now(UTC)
    run = f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:4]}"
    (STATE / "parts").mkdir(parents=True, exist_ok=True)
    for old in (STATE / "parts").iterdir():
        old.unlink()
    (STATE / "run.json").write_text(json.dumps({"run": run, "host": host,
                                                "time": moment.isoformat(timespec="seconds")}))
    print(run, flush=True)


def counts(name: str) -> None:
    rows = (line.rsplit("\t", 1) for line in sys.stdin.read().splitlines() if "\t" in line)
    current_run()
    save_part(name, {"tables": {table: int(count) for table, count in rows}})


def dump(name: str, kind: str, service: str, host: str) -> None:
    """Standard input into restic as it comes (never whole on a disk), digest on the way."""
    run = current_run()["run"]
    digest, size = hashlib.sha256(), 0
    # restic's output into files: a pipe nobody reads while the dump streams would fill.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            ["restic", "backup", "--json", "--host", host, "--stdin", "--stdin-filename",
             f"{name}.dump", *tags(run, name)], stdin=subprocess.PIPE, stdout=out,
            stderr=errors)
        assert process.stdin is not None
        try:
            while chunk := os.read(0, CHUNK):
                digest.update(chunk)
                size += len(chunk)
                process.stdin.write(chunk)
            process.stdin.close()
        except BrokenPipeError:
            pass  # restic ended early: its exit code says why
        code = process.wait()
        out.seek(0)
        errors.seek(0)
        said, complaint = out.read().decode(errors="replace"), errors.read().decode(
            errors="replace")
    if code != 0:
        raise Failed(complaint.strip() or f"restic backup exited {code}")
    snapshot = snapshot_id(said)
    if not snapshot:
        raise Failed(f"restic saved no snapshot of {name}")
    save_part(name, {"kind": kind, "service": service, "snapshot": snapshot, "bytes": size,
                     "sha256": digest.hexdigest()})
    print(f"{name} saved ({size} bytes)", flush=True)


def digests(path: str) -> dict[str, str]:
    """Every regular file under `path` (symlinks not followed) -> its sha256."""
    found = {}
    for folder, _, names in os.walk(path):
        for name in names:
            full = os.path.join(folder, name)
            if os.path.isfile(full) and not os.path.islink(full):
                digest = hashlib.sha256()
                with open(full, "rb") as handle:
                    while chunk := handle.read(CHUNK):
                        digest.update(chunk)
                found[os.path.relpath(full, path)] = digest.hexdigest()
    return found


def files(name: str, kind: str, path: str, host: str) -> None:
    run = current_run()["run"]
    found = digests(path)
    size = subprocess.run(["du", "-sb", path], capture_output=True, text=True, check=True)
    out = restic(["backup", "--json", "--host", host, *tags(run, name), path])
    save_part(name, {"kind": kind, "snapshot": snapshot_id(out), "files": found,
                     "path": path, "bytes": int(size.stdout.split()[0] or 0)})
    print(f"{name} saved ({len(found)} files)", flush=True)


def snapshots(tag: str) -> list[dict[str, object]]:
    return list(json.loads(restic(["snapshots", "--json", "--tag", tag]) or "[]") or [])


def run_of(snapshot: dict[str, object]) -> str:
    found = snapshot.get("tags")
    return next((t[4:] for t in found if isinstance(t, str) and t.startswith("run=")), "") \
        if isinstance(found, list) else ""


def forget_args(daily: str, weekly: str, monthly: str) -> list[str]:
    """Complete runs (their manifests) as one group, whatever their host or paths."""
    keep = [("--keep-daily", daily), ("--keep-weekly", weekly), ("--keep-monthly", monthly)]
    return ["forget", "--json", "--tag", MANIFEST_TAG, "--group-by", "",
            *[a for flag, count in keep if int(count) > 0 for a in (flag, count)]]


def seal(host: str, declared: str, daily: str, weekly: str, monthly: str) -> None:
    """The manifest, once every declared part is saved; then retention of complete runs
    (restic's policy keeps the newest: the run just made), then the parts no kept manifest
    names (forgotten runs, failed ones), then prune."""
    run = current_run()
    parts = {p.stem: json.loads(p.read_text()) for p in (STATE / "parts").glob("*.json")}
    missing = [n for n in declared.split(",") if n and "snapshot" not in parts.get(n, {})]
    if missing:
        raise Failed(f"backup {run['run']}: {', '.join(missing)} not saved: the run is not "
                     "complete, no manifest written, nothing deleted")
    manifest = json.dumps({"run": run["run"], "time": run["time"], "parts": parts},
                          indent=1, sort_keys=True).encode()
    out = restic(["backup", "--json", "--host", host, "--stdin", "--stdin-filename",
                  MANIFEST_FILE, *tags(run["run"], None)], stdin=manifest)
    restic(forget_args(daily, weekly, monthly))
    kept = {run_of(s) for s in snapshots(MANIFEST_TAG)}
    orphans = [str(s["id"]) for s in snapshots(TAG) if run_of(s) not in kept]
    if orphans:
        restic(["forget", *orphans])
    restic(["prune"])
    print(json.dumps({"run": run["run"], "time": run["time"], "snapshot": snapshot_id(out),
                      "parts": parts, "kept": len(kept), "removed": len(orphans)}), flush=True)


STEPS: dict[str, tuple[Callable[..., None], int]] = {
    "begin": (begin, 1), "counts": (counts, 1), "dump": (dump, 4), "files": (files, 4),
    "seal": (seal, 5)}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in STEPS or len(argv) - 1 != STEPS[argv[0]][1]:
        print(f"usage: pojemnik-backup {' | '.join(STEPS)} ARGS...", file=sys.stderr)
        return 2
    step, _ = STEPS[argv[0]]
    try:
        step(*argv[1:])
    except Failed as error:
        print(error, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
