"""What is under a directory on a host, described so two hosts can be compared.

A manifest lists every entry (kind, mode, numeric owner, size, mtime, inode, symlink
target, sha256 of a file's contents, a digest of its xattrs and ACLs); the difference
of two says what to send and what is only on the destination.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...errors import OperationError
from ...ssh.channels import run
from ...ssh.connection import describe

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


# One entry is 8 fields, each ended by a NUL: a name or a symlink's target may hold a
# newline or a tab (a crafted name made a line of its own, `../x`, for --delete).
LISTING = "%y\\0%m\\0%U:%G\\0%s\\0%T@\\0%i\\0%l\\0%P\\0"
FIELDS = 8
OCTAL = re.compile(rb"\\([0-7]{3})")


def manifest(connection: Connection, root: str) -> Manifest:
    """Describe every entry under `root` on a host (empty if it does not exist yet)."""
    q = shlex.quote(root)
    exists = connection.run(f"test -d {q}", hide=True, warn=True, in_stream=False).ok
    if not exists:
        return Manifest()
    listing = run(connection, f"cd {q} && find . -mindepth 1 -printf '{LISTING}'")
    digests = run(connection, f"cd {q} && find . -type f -print0 | xargs -0r sha256sum")
    has_getfattr = connection.run("command -v getfattr", hide=True, warn=True,
                                  in_stream=False).ok
    xattrs = run(connection, f"cd {q} && getfattr -R -P -d -m - -e hex . 2>/dev/null; "
                  "true") if has_getfattr else ""
    try:
        return parse_manifest(listing, digests, xattrs)
    except ValueError as error:
        raise OperationError(f"{describe(connection)}:{root}: {error}; nothing was copied "
                             "or deleted") from error


def parse_manifest(listing: str, digests: str, xattrs: str) -> Manifest:
    """The entries of `find -printf LISTING`, with `sha256sum`'s and `getfattr`'s output.
    ValueError for an entry that is not strictly below the root."""
    fields = listing.split("\0")
    if fields.pop() != "" or len(fields) % FIELDS:
        raise ValueError("the listing of its entries is cut short (find stopped?)")
    by_path, attrs = parse_digests(digests), parse_getfattr(xattrs)
    entries: dict[str, Entry] = {}
    for start in range(0, len(fields), FIELDS):
        kind, mode, owner, size, mtime, inode, target, path = fields[start:start + FIELDS]
        if not below_root(path):
            raise ValueError(f"find listed {path!r}, not a path strictly below it")
        entries[path] = Entry(kind, mode, owner, int(size) if kind == "f" else 0,
                              int(float(mtime)), inode, target, by_path.get(path, ""),
                              attrs.get(path, ""))
    return Manifest(entries)


def below_root(path: str) -> bool:
    """A relative path with no empty, `.` or `..` component: what may be deleted."""
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and all(
        part not in ("", ".", "..") for part in parts)


def parse_digests(text: str) -> dict[str, str]:
    """`sha256sum` lines: `HASH  ./name`; a name with a newline, carriage return or
    backslash is written escaped (`\\n`, `\\r`, `\\\\`) after a leading backslash."""
    found: dict[str, str] = {}
    for line in text.split("\n"):
        escaped = line.startswith("\\")
        line = line.removeprefix("\\")
        digest, name = line[:64], line[66:]
        if not name:
            continue
        if escaped:
            name = re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m[1], m[1]), name)
        found[name.removeprefix("./")] = digest
    return found


def parse_getfattr(text: str) -> dict[str, str]:
    """`getfattr -d` output as a digest per path; it writes a name's backslash, control
    characters (and, in some versions, bytes above 127) as `\\ooo`."""
    found: dict[str, list[str]] = {}
    current = None
    for line in text.split("\n"):
        if line.startswith("# file: "):
            name = OCTAL.sub(lambda m: bytes([int(m[1], 8)]),
                             line[len("# file: "):].encode(errors="surrogateescape"))
            current = name.decode(errors="replace").removeprefix("./")
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
