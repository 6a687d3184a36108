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


def local_files(root: Path, paths: Iterable[str]) -> dict[str, str]:
    files: dict[str, str] = {}
    for relative in paths:
        base = root / relative
        candidates = [base] if base.is_file() else sorted(p for p in base.rglob("*")
                                                         if p.is_file())
        for path in candidates:
            files[path.relative_to(root).as_posix()] = hashlib.sha256(
                path.read_bytes()).hexdigest()
    return files


def remote_files(connection: Connection, root: str, paths: Iterable[str]) -> dict[str, str]:
    quoted = " ".join(shlex.quote(p) for p in paths)
    result = connection.run(
        f"cd {shlex.quote(root)} 2>/dev/null && find {quoted} -type f -print0 2>/dev/null "
        "| xargs -0r sha256sum", hide=True, warn=True, in_stream=False)
    files: dict[str, str] = {}
    for line in result.stdout.splitlines():
        digest, _, name = line.partition("  ")
        if name:
            files[name] = digest
    return files


def sync_files(connection: Connection, local_root: Path, paths: list[str], remote_root: str,
               say: Say) -> SyncResult:
    """Mirror `paths` (relative to both roots): changed files sent and switched in,
    files the checkout no longer has removed (kept aside with the replaced ones)."""
    local = local_files(local_root, paths)
    remote = remote_files(connection, remote_root, paths)
    changed = sorted(name for name, digest in local.items() if remote.get(name) != digest)
    removed = sorted(set(remote) - set(local))
    total = sum((local_root / name).stat().st_size for name in changed)
    root = shlex.quote(remote_root)
    run(connection, f"mkdir -p {root} && cd {root} && rm -rf {INCOMING} && mkdir {INCOMING}")
    if changed:
        say(f"{describe(connection)}: sending {len(changed)} changed files "
            f"({total / 2**20:.1f} MiB) to {remote_root}")
        send_tar(connection, local_root, changed, f"{remote_root}/{INCOMING}", total, say)
    if changed or removed:
        run(connection, switch_script(remote_root, changed, removed))
    created = tuple(name for name in changed if name not in remote)
    return SyncResult(len(changed), total, len(removed), len(local) - len(changed),
                      tuple(changed), created)


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


def restore(connection: Connection, remote_root: str, result: SyncResult) -> None:
    """Put back what the last switch replaced (and remove what it added)."""
    lines = [f"set -e; cd {shlex.quote(remote_root)}"]
    for name in result.changed:
        q, keep = shlex.quote(name), shlex.quote(f"{PREVIOUS}/{name}")
        lines.append(f"if [ -e {keep} ]; then mv -f {keep} {q}; else rm -f {q}; fi")
    run(connection, "\n".join(lines))


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
    seeded = []
    for path in paths:
        target = shlex.quote(f"{remote_root}/{path}")
        exists = connection.run(f"test -e {target}", hide=True, warn=True, in_stream=False)
        if exists.ok:
            continue
        files = sorted(local_files(local_root, [path]))
        run(connection, f"mkdir -p {target}" if (local_root / path).is_dir()
            else f"mkdir -p \"$(dirname {target})\"")
        if files:
            send_tar(connection, local_root, files, remote_root,
                     sum((local_root / f).stat().st_size for f in files), say)
        seeded.append(path)
    return seeded
