"""`backup.run`, `backup.list`, `backup.restore`, `backup.drill`: the stack's declared
backups (docs/guides/backups.md); `fab -H host backup.run` runs them on the host."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable

from invoke import Collection, Context, Exit, task

from ..console import say
from ..declaration.model import Stack
from .context import engine_of, guard, host_files, is_remote, print_table, stack_of
from .lock import holding_lock


def _progress(json_: bool) -> Callable[[str], None]:
    """With --json, standard output is the JSON alone: progress goes to standard error."""
    return (lambda line: print(line, file=sys.stderr, flush=True)) if json_ else say


def _backed_up(c: Context) -> Stack:
    stack = stack_of(c)
    if stack.backup is None:
        raise Exit(f"{stack.source} declares no backup: add backup=Backup(...) to the Stack "
                   "(docs/guides/backups.md)", code=2)
    repository = stack.backup.repository_for(stack.project)
    if is_remote(c) and not repository.startswith("sftp:"):
        c.run(f"mkdir -p -m 0700 {shlex.quote(repository)}", hide=True)
    return stack


@task(help={"json": "machine-readable output"})
def run(c: Context, json_: bool = False) -> None:
    """Back up what stack.py declares (dumps streamed, volumes, binds), then apply the
    retention; under the project's lock, so never in the middle of a deploy."""
    from ..operations.backup.run import run_backup

    stack = _backed_up(c)
    files = host_files(c)
    with engine_of(c) as engine, holding_lock(c, engine, stack):
        manifest = guard(lambda: run_backup(engine, stack, _progress(json_), files))
    if json_:
        print(json.dumps({"run": manifest.run, "time": manifest.time,
                          "snapshot": manifest.snapshot, "parts": manifest.parts}, indent=1))


@task(name="list", help={"json": "machine-readable output"})
def list_(c: Context, json_: bool = False) -> None:
    """The complete backups in the repository: when, size, what."""
    from ..operations.backup.listing import complete_backups

    stack = _backed_up(c)
    with engine_of(c) as engine:
        found = guard(lambda: complete_backups(engine, stack, _progress(json_)))
    if json_:
        print(json.dumps([{"run": m.run, "time": m.time, "snapshot": m.snapshot,
                           "bytes": m.size(), "parts": sorted(m.parts)} for m in found],
                         indent=1))
        return
    print_table(["SNAPSHOT", "TIME (UTC)", "SIZE", "WHAT"],
                [[m.snapshot[:8], m.time, f"{m.size()} B", ", ".join(sorted(m.parts))]
                 for m in found])
    if not found:
        say("no complete backup yet: `invoke backup.run`")


@task(help={"snapshot": "the backup to restore (its SNAPSHOT from backup.list; default: "
                        "the newest)",
            "service": "restore only this service's dump (or this volume or bind)",
            "yes": "do not ask for confirmation"})
def restore(c: Context, snapshot: str = "", service: str = "", yes: bool = False) -> None:
    """Put a backup's data back into the live stack: the services using it are stopped
    meanwhile and started after; recorded in the audit log (`invoke history`)."""
    from ..operations.backup.restore import chosen_parts
    from ..operations.backup.restore import restore as put_back

    stack = _backed_up(c)
    parts = guard(lambda: chosen_parts(stack, service))
    if not yes:
        what = ", ".join(p.name for p in parts)
        if not sys.stdin.isatty():
            raise Exit(f"backup.restore replaces {what} in {stack.project} with the backup's: "
                       "give --yes to confirm", code=2)
        answer = input(f"replace {what} in {stack.project} with backup "
                       f"{snapshot or '(newest)'}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise Exit("nothing restored", code=1)
    files = host_files(c)
    with engine_of(c) as engine, holding_lock(c, engine, stack):
        done = guard(lambda: put_back(engine, stack, files, say, snapshot, service))
    say(f"{stack.project}: restored {', '.join(done.parts)} from backup {done.manifest.run} "
        f"({done.manifest.time})")


@task(help={"snapshot": "the backup to drill (default: the newest)",
            "json": "machine-readable output"})
def drill(c: Context, snapshot: str = "", json_: bool = False) -> None:
    """Prove a backup: restore it into throwaway containers with no network, compare row
    counts and file digests with those recorded at backup time, read every pack."""
    from ..operations.backup.drill import drill as prove

    stack = _backed_up(c)
    files = host_files(c)
    with engine_of(c) as engine, holding_lock(c, engine, stack):
        manifest, result = guard(lambda: prove(engine, stack, files, _progress(json_),
                                                      snapshot))
    if json_:
        print(json.dumps({"run": manifest.run, "passed": result.passed,
                          "checked": result.checked, "problems": result.problems}, indent=1))
    else:
        for part, numbers in result.checked.items():
            say(f"  {part}: {numbers}")
        for problem in result.problems:
            say(f"  FAIL {problem}")
        say(f"drill of backup {manifest.run}: {'PASSED' if result.passed else 'FAILED'}")
    if not result.passed:
        raise Exit(code=1)


@task()
def key(c: Context) -> None:
    """The SSH key an sftp repository is reached with: made on the engine's host (kept
    if there is one); prints the line for the repository host's authorized_keys."""
    from ..operations.backup.key import authorized_line, ensure_key

    stack = _backed_up(c)
    if is_remote(c):
        c.run(f"mkdir -p -m 0700 {shlex.quote(stack.host_path(stack.secrets_dir()))}",
              hide=True)
    with engine_of(c) as engine:
        public = guard(lambda: ensure_key(engine, stack, say))
    assert stack.backup is not None
    where = stack.backup.repository_for(stack.project)
    say(f"add this line to ~/.ssh/authorized_keys of the repository's user ({where}), "
        "on the repository host (sftp only, no shell):")
    print(authorized_line(public), flush=True)


def collection() -> Collection:
    found = Collection("backup")
    for body in (run, list_, restore, drill, key):
        found.add_task(body)
    return found
