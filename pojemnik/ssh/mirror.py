"""Mirror the stack's mounted files into its directory on a host, over the SSH connection.

Only changed files travel, as one tar stream (never all in memory)."""

from __future__ import annotations

import hashlib
import shlex
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..console import Say
from .channels import ChannelWriter, finish_channel, open_channel
from .connection import describe

if TYPE_CHECKING:
    from fabric import Connection


@dataclass(frozen=True)
class SyncResult:
    sent: int
    bytes: int
    removed: int
    unchanged: int


def _local_files(root: Path, paths: Iterable[str]) -> dict[str, str]:
    files: dict[str, str] = {}
    for relative in paths:
        base = root / relative
        candidates = [base] if base.is_file() else sorted(p for p in base.rglob("*")
                                                         if p.is_file())
        for path in candidates:
            files[path.relative_to(root).as_posix()] = hashlib.sha256(
                path.read_bytes()).hexdigest()
    return files


def _remote_files(connection: Connection, root: str, paths: Iterable[str]) -> dict[str, str]:
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
               say: Say, private: Iterable[str] = ()) -> SyncResult:
    """Mirror `paths` (relative to both roots) to the host, sending only changed files
    as one tar stream over the SSH connection. `private` paths get mode 0700 dirs."""
    local = _local_files(local_root, paths)
    remote = _remote_files(connection, remote_root, paths)
    changed = sorted(name for name, digest in local.items() if remote.get(name) != digest)
    removed = sorted(set(remote) - set(local))
    total = sum((local_root / name).stat().st_size for name in changed)
    run = connection.run
    run(f"mkdir -p {shlex.quote(remote_root)}", hide=True, in_stream=False)
    for path in private:
        run(f"mkdir -p {shlex.quote(remote_root + '/' + path)} && "
            f"chmod 700 {shlex.quote(remote_root + '/' + path)}", hide=True, in_stream=False)
    if changed:
        say(f"{describe(connection)}: sending {len(changed)} changed files "
            f"({total / 2**20:.1f} MiB) to {remote_root}")
        _send_tar(connection, local_root, changed, remote_root, total, say)
    if removed:
        for start in range(0, len(removed), 200):
            batch = " ".join(shlex.quote(n) for n in removed[start:start + 200])
            run(f"cd {shlex.quote(remote_root)} && rm -f -- {batch}", hide=True,
                in_stream=False)
    return SyncResult(len(changed), total, len(removed), len(local) - len(changed))


def _send_tar(connection: Connection, local_root: Path, names: list[str], remote_root: str,
              total: int, say: Say) -> None:
    """Stream the files as a tar archive into `tar -x` on the host (never all in memory)."""
    channel = open_channel(connection, f"tar -xf - -C {shlex.quote(remote_root)} "
                           "--no-same-owner")
    writer = ChannelWriter(channel, total, say, describe(connection))
    with tarfile.open(fileobj=writer, mode="w|") as tar:  # type: ignore[call-overload]
        for name in names:
            tar.add(local_root / name, arcname=name, recursive=False)
    channel.shutdown_write()
    finish_channel(channel, connection, f"unpacking in {remote_root}")

