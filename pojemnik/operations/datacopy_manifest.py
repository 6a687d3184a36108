"""What is under a directory on a host, described so two hosts can be compared.

A manifest lists every entry (kind, mode, numeric owner, size, mtime, inode, symlink
target, sha256 of a file's contents, a digest of its xattrs and ACLs); the difference
of two says what to send and what is only on the destination.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..ssh.channels import run

if TYPE_CHECKING:
    from fabric import Connection


@dataclass(frozen=True)
class Entry:
    kind: str  # f file, d directory, l symlink
    mode: str
    owner: str  # uid:gid
    size: int
    mtime: int  # seconds; compared for files only (a directory's changes as entries arrive)
    inode: str
    target: str = ""  # symlink target
    digest: str = ""  # sha256 of a file's contents
    xattrs: str = ""  # digest of its extended attributes (ACLs included)

    def same_as(self, other: Entry) -> bool:
        keys: tuple[str, ...] = ("kind", "mode", "owner", "target", "digest", "xattrs")
        if self.kind == "f":
            keys += ("size", "mtime")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


@dataclass
class Manifest:
    entries: dict[str, Entry] = field(default_factory=dict)

    def hardlinks(self) -> set[frozenset[str]]:
        groups: dict[str, set[str]] = {}
        for path, entry in self.entries.items():
            if entry.kind == "f":
                groups.setdefault(entry.inode, set()).add(path)
        return {frozenset(g) for g in groups.values() if len(g) > 1}

    def group_of(self, path: str) -> set[str]:
        inode = self.entries[path].inode
        return {p for p, e in self.entries.items() if e.kind == "f" and e.inode == inode}


def manifest(connection: Connection, root: str) -> Manifest:
    """Describe every entry under `root` on a host (empty if it does not exist yet)."""
    q = shlex.quote(root)
    exists = connection.run(f"test -d {q}", hide=True, warn=True, in_stream=False).ok
    if not exists:
        return Manifest()
    listing = run(connection, f"cd {q} && find . -mindepth 1 -printf "
                   "'%y\\t%m\\t%U:%G\\t%s\\t%T@\\t%i\\t%l\\t%P\\n'")
    digests = run(connection, f"cd {q} && find . -type f -print0 | xargs -0r sha256sum")
    has_getfattr = connection.run("command -v getfattr", hide=True, warn=True,
                                  in_stream=False).ok
    xattrs = run(connection, f"cd {q} && getfattr -R -P -d -m - -e hex . 2>/dev/null; "
                  "true") if has_getfattr else ""
    by_path: dict[str, str] = {}
    for line in digests.splitlines():
        digest, _, name = line.partition("  ")
        by_path[name.removeprefix("./")] = digest
    attrs = _parse_getfattr(xattrs)
    entries: dict[str, Entry] = {}
    for line in listing.splitlines():
        parts = line.split("\t", 7)
        if len(parts) != 8:
            continue
        kind, mode, owner, size, mtime, inode, target, path = parts
        entries[path] = Entry(kind, mode, owner, int(size) if kind == "f" else 0,
                              int(float(mtime)), inode, target, by_path.get(path, ""),
                              attrs.get(path, ""))
    return Manifest(entries)


def _parse_getfattr(text: str) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("# file: "):
            current = line[len("# file: "):].removeprefix("./")
            found[current] = []
        elif current and "=" in line:
            found[current].append(line)
    return {path: hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:16]
            for path, lines in found.items() if lines}


@dataclass(frozen=True)
class Difference:
    send: list[str]  # paths to (re)create on the destination, parents first
    extra: list[str]  # only on the destination
    unchanged: int
    bytes: int


def difference(source: Manifest, destination: Manifest) -> Difference:
    send: set[str] = set()
    for path, entry in source.entries.items():
        there = destination.entries.get(path)
        if there is None or not entry.same_as(there):
            send.add(path)
    # A hard link is only recreated when its partner travels in the same archive.
    for path in list(send):
        if source.entries[path].kind == "f":
            send |= source.group_of(path)
    extra = sorted(set(destination.entries) - set(source.entries), reverse=True)
    size = sum(source.entries[p].size for p in send)
    return Difference(sorted(send), extra, len(source.entries) - len(send), size)
