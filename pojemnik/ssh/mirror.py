"""Mirror the stack's config files into its directory on a host, over the SSH connection.

Only changed files travel, as one tar stream (never all in memory), into a staging
directory; then each file is renamed into place (a rename is atomic: a container never
reads half a file), the replaced versions kept aside so `restore` can put the last good
config back (after `nginx -t` rejected the new one). A transfer cut short leaves the live
files as they were; the next run sends again what differs.
"""

from __future__ import annotations

import hashlib
import shlex
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..console import Say
from .channels import ChannelWriter, finish_channel, open_channel, run
from .connection import describe

if TYPE_CHECKING:
    from fabric import Connection

INCOMING = ".pojemnik-incoming"  # the new versions, before the switch
PREVIOUS = ".pojemnik-previous"  # the versions the last switch replaced


@dataclass(frozen=True)
class SyncResult:
    sent: int
    bytes: int
    removed: int
    unchanged: int
    changed: tuple[str, ...] = ()
    created: tuple[str, ...] = ()  # changed files the host did not have before
    gone: tuple[str, ...] = ()  # the files removed (gone from the checkout)


def below(name: str, paths: Iterable[str]) -> bool:
    """`name` is one of `paths` or lies under one (repository paths, '/'-separated)."""
    return any(name == path or name.startswith(path.rstrip("/") + "/") for path in paths)


def local_files(root: Path, paths: Iterable[str], exclude: Iterable[str] = ()) -> dict[str, str]:
    """Repository path -> sha256 of every file under `paths`, none under `exclude`."""
    skip = list(exclude)
    files: dict[str, str] = {}
    for relative in paths:
        base = root / relative
        candidates = [base] if base.is_file() else sorted(p for p in base.rglob("*")
                                                         if p.is_file())
        for path in candidates:
            name = path.relative_to(root).as_posix()
            if not below(name, skip):
                with path.open("rb") as stream:  # a site's packages need not fit in memory
                    files[name] = hashlib.file_digest(stream, "sha256").hexdigest()
    return files


def remote_files(connection: Connection, root: str, paths: Iterable[str],
                 exclude: Iterable[str] = ()) -> dict[str, str]:
    """The same listing of the host's copy: `exclude` (data directories) is never entered,
    and names travel NUL-separated (a name may hold a newline)."""
    skip = list(exclude)
    prune = " -o ".join(f"-path {shlex.quote(p.rstrip('/'))}" for p in skip)
    where = " ".join(shlex.quote(p) for p in paths)
    find = (f"find {where} \\( {prune} \\) -prune -o -type f -print0" if skip
            else f"find {where} -type f -print0")
    result = connection.run(
        f"cd {shlex.quote(root)} 2>/dev/null && {find} 2>/dev/null "
        "| xargs -0r sha256sum --zero", hide=True, warn=True, in_stream=False)
    files: dict[str, str] = {}
    for entry in result.stdout.split("\0"):
        digest, _, name = entry.partition("  ")
        if name and not below(name, skip):
            files[name] = digest
    return files


def missing(connection: Connection, root: str, paths: list[str]) -> list[str]:
    """Which of `paths` (relative to `root`) the host does not have, in one command."""
    if not paths:
        return []
    names = " ".join(shlex.quote(p) for p in paths)
    result = connection.run(
        f"cd {shlex.quote(root)} 2>/dev/null || {{ printf '%s\\0' {names}; exit 0; }}; "
        f"for p in {names}; do [ -e \"$p\" ] || printf '%s\\0' \"$p\"; done",
        hide=True, warn=True, in_stream=False)
    return [p for p in result.stdout.split("\0") if p]


@dataclass(frozen=True)
class Difference:
    """The checkout's files against the host's copy, by content digest."""

    changed: list[str]  # to send: new or different on the host
    removed: list[str]  # gone from the checkout: to remove on the host
    created: list[str]  # of `changed`, those the host does not have
    unchanged: int


def compare(connection: Connection, local_root: Path, paths: list[str], remote_root: str,
            exclude: Iterable[str] = ()) -> Difference:
    skip = list(exclude)
    local = local_files(local_root, paths, skip)
    remote = remote_files(connection, remote_root, paths, skip)
    changed = sorted(name for name, digest in local.items() if remote.get(name) != digest)
    return Difference(changed, sorted(set(remote) - set(local)),
                      [name for name in changed if name not in remote],
                      len(local) - len(changed))


def sync_files(connection: Connection, local_root: Path, paths: list[str], remote_root: str,
               say: Say, exclude: Iterable[str] = ()) -> SyncResult:
    """Mirror `paths` (relative to both roots): changed files sent and switched in,
    files the checkout no longer has removed (kept aside with the replaced ones).
    Nothing under `exclude` (data directories inside mirrored ones) is sent, removed or
    replaced: the containers own it."""
    diff = compare(connection, local_root, paths, remote_root, exclude)
    changed, removed = diff.changed, diff.removed
    total = sum((local_root / name).stat().st_size for name in changed)
    root = shlex.quote(remote_root)
    run(connection, f"mkdir -p {root} && cd {root} && rm -rf {INCOMING} && mkdir {INCOMING}")
    if changed:
        say(f"{describe(connection)}: sending {len(changed)} changed files "
            f"({total / 2**20:.1f} MiB) to {remote_root}")
        send_tar(connection, local_root, changed, f"{remote_root}/{INCOMING}", total, say)
    if changed or removed:
        run(connection, switch_script(remote_root, changed, removed))
    return SyncResult(len(changed), total, len(removed), diff.unchanged,
                      tuple(changed), tuple(diff.created), tuple(removed))


def switch_script(remote_root: str, changed: list[str], removed: list[str]) -> str:
    """Rename each new file into place, the old one linked aside first."""
    lines = [f"set -e; cd {shlex.quote(remote_root)}; rm -rf {PREVIOUS}; mkdir {PREVIOUS}"]
    for name in [*changed, *removed]:
        q = shlex.quote(name)
        keep = shlex.quote(f"{PREVIOUS}/{name}")
        lines.append(f"if [ -e {q} ]; then mkdir -p \"$(dirname {keep})\"; ln -f {q} {keep}; fi")
    for name in changed:
        q = shlex.quote(name)
        lines.append(f"mkdir -p \"$(dirname {q})\"; mv -f {shlex.quote(f'{INCOMING}/{name}')} {q}")
    lines += [f"rm -f {shlex.quote(name)}" for name in removed]
    lines.append(f"rm -rf {INCOMING}")
    return "\n".join(lines)


def restore(connection: Connection, remote_root: str, result: SyncResult) -> bool:
    """Put back what the last switch replaced or removed (and remove what it added);
    False when it had changed nothing."""
    if not result.changed and not result.gone:
        return False
    lines = [f"set -e; cd {shlex.quote(remote_root)}"]
    for name in result.changed:
        q, keep = shlex.quote(name), shlex.quote(f"{PREVIOUS}/{name}")
        lines.append(f"if [ -e {keep} ]; then mv -f {keep} {q}; else rm -f {q}; fi")
    for name in result.gone:
        q, keep = shlex.quote(name), shlex.quote(f"{PREVIOUS}/{name}")
        lines.append(f"if [ -e {keep} ]; then mkdir -p \"$(dirname {q})\"; mv -f {keep} {q}; fi")
    run(connection, "\n".join(lines))
    return True


def send_tar(connection: Connection, local_root: Path, names: list[str], remote_dir: str,
             total: int, say: Say) -> None:
    """Stream the files as a tar archive into `tar -x` on the host (never all in memory)."""
    channel = open_channel(connection, f"tar -xf - -C {shlex.quote(remote_dir)} "
                           "--no-same-owner")
    writer = ChannelWriter(channel, total, say, describe(connection))
    try:
        with tarfile.open(fileobj=writer, mode="w|") as tar:  # type: ignore[call-overload]
            for name in names:
                tar.add(local_root / name, arcname=name, recursive=False)
    finally:
        writer.close()
    channel.shutdown_write()
    finish_channel(channel, connection, f"unpacking in {remote_dir}")


def seed_missing(connection: Connection, local_root: Path, paths: list[str],
                 remote_root: str, say: Say) -> list[str]:
    """Data directories (writable binds): made on the host from the checkout only when
    missing there; what the containers wrote is never overwritten or pruned."""
    seeded = missing(connection, remote_root, paths)
    for path in seeded:
        target = shlex.quote(f"{remote_root}/{path}")
        files = sorted(local_files(local_root, [path]))
        run(connection, f"mkdir -p {target}" if (local_root / path).is_dir()
            else f"mkdir -p \"$(dirname {target})\"")
        if files:
            send_tar(connection, local_root, files, remote_root,
                     sum((local_root / f).stat().st_size for f in files), say)
    return seeded
