"""What keeps `data.copy --delete` from destroying data: the source is checked before
anything is copied or deleted, and only entries a verified copy shows to be extra are
deleted, after the verification, with a count that says what really happened."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from ...errors import HostCommandError, OperationError
from ...ssh.channels import run
from ...ssh.connection import describe
from .manifest import below_root

if TYPE_CHECKING:
    from fabric import Connection

BATCH = 200


def source_problem(source: str, exists: bool, is_directory: bool, source_empty: bool,
                   destination: str, destination_empty: bool, delete: bool) -> str:
    """Why copying `source` must not go on ("" when it may): a mistyped --path must not
    copy nothing and then, with --delete, delete everything under --to."""
    if not exists:
        return (f"{source} does not exist; check --path (nothing was copied or deleted)")
    if not is_directory:
        return (f"{source} is not a directory; --path names a directory to copy "
                "(nothing was copied or deleted)")
    if delete and source_empty and not destination_empty:
        return (f"{source} is empty but {destination} is not: --delete would delete "
                f"everything there. Check --path; to empty {destination}, remove its "
                "contents yourself (nothing was copied or deleted)")
    return ""


def check_source(source: Connection, source_path: str, destination: Connection,
                 destination_path: str, delete: bool) -> None:
    """Refuse, before anything changes, a source that is missing, not a directory, or
    empty while --delete would empty a non-empty destination."""
    q = shlex.quote(source_path)
    probe = source.run(
        f"if test -d {q}; then echo directory; "
        f"if test -n \"$(find {q}/ -mindepth 1 -print -quit)\"; then echo entries; fi; "
        f"elif test -e {q} || test -L {q}; then echo other; else echo missing; fi",
        hide=True, warn=True, in_stream=False)
    facts = str(probe.stdout).split()
    if not probe.ok or not facts:
        raise HostCommandError(f"{describe(source)}: cannot look at {source_path}: "
                               f"{str(probe.stderr).strip()}")
    destination_empty = True
    if delete and "entries" not in facts:
        d = shlex.quote(destination_path)
        found = run(destination, f"if test -d {d}; then find {d}/ -mindepth 1 -print "
                                 "-quit; fi")
        destination_empty = not found.strip()
    problem = source_problem(
        f"{describe(source)}:{source_path}", facts[0] != "missing", facts[0] == "directory",
        "entries" not in facts, f"{describe(destination)}:{destination_path}",
        destination_empty, delete)
    if problem:
        raise OperationError(problem)


def delete_extra(destination: Connection, destination_path: str, extra: list[str]) -> int:
    """Delete what a verified copy found only on the destination (deepest first), each
    strictly below `destination_path` (else nothing is deleted)."""
    if outside := [p for p in extra if not below_root(p)]:
        raise OperationError(f"{describe(destination)}: refusing to delete {outside[:5]!r} "
                             f"(not strictly below {destination_path}); nothing was deleted")
    deleted = 0
    for start in range(0, len(extra), BATCH):
        batch = extra[start:start + BATCH]
        words = " ".join(shlex.quote(p) for p in batch)
        try:
            run(destination, f"cd {shlex.quote(destination_path)} && rm -rf -- {words}")
        except HostCommandError as error:
            raise HostCommandError(
                f"{error}\nThe copy was verified; deleting the entries only on "
                f"{describe(destination)} stopped after {deleted} of {len(extra)}. Run "
                "again to finish.") from error
        deleted += len(batch)
    return deleted
