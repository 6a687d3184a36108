"""A tar stream from another host, passed on only with entries that stay inside the target.

The old host's `tar --create` output is unpacked as root on the new host. GNU tar refuses
`..` but follows a symlink that an earlier member made (`link -> /etc`, then
`link/passwd`). Since the stream passes through this machine, it is read here member by
member (stream mode) and written again (PAX, so xattr and ACL headers `SCHILY.*` travel
along) without any member that:

- has an absolute name, a `..` component, or was not asked for;
- lies under a symlink made by this archive or present at the destination, or is a
  directory where such a symlink is (tar would keep the link and chown through it);
- is a hard link to anything but an entry already passed on in this archive;
- is a device node.

The refused ones are returned, with the reason, for the report.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Protocol, cast

ENCODING = "utf-8"


class Reader(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class Writer(Protocol):
    def write(self, data: bytes, /) -> int: ...


@dataclass(frozen=True)
class Refused:
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


@dataclass
class Gate:
    """Which members may pass: the requested names, and the destination's symlinks."""

    requested: set[str]
    destination_symlinks: set[str] = field(default_factory=set)
    made_symlinks: set[str] = field(default_factory=set)
    passed: set[str] = field(default_factory=set)

    def refusal(self, member: tarfile.TarInfo) -> str:
        """Why `member` may not pass ("" when it may)."""
        name = normalized(member.name)
        if name is None:
            return "absolute or outside the target"
        if name not in self.requested:
            return "not asked for"
        if through := self.symlink_above(name):
            return f"inside the symlink {through}"
        if member.isdir() and (name in self.destination_symlinks or name in self.made_symlinks):
            # GNU tar keeps a symlink to a directory and applies modes and owners through it.
            return "a directory where the destination has a symlink"
        if member.ischr() or member.isblk():
            return "a device node"
        if member.islnk():
            target = normalized(member.linkname)
            if target is None or target not in self.passed:
                return f"a hard link to {member.linkname!r}, not an entry of this copy"
        return ""

    def symlink_above(self, name: str) -> str:
        parts = name.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in self.made_symlinks or parent in self.destination_symlinks:
                return parent
        return ""

    def admit(self, member: tarfile.TarInfo) -> None:
        name = normalized(member.name) or ""
        self.passed.add(name)
        if member.issym():
            self.made_symlinks.add(name)


def normalized(name: str) -> str | None:
    """The member's path relative to the target, or None if it is not inside it."""
    if not name or name.startswith("/"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return posixpath.join(*parts)


def filter_stream(source: Reader, destination: Writer, requested: Iterable[str],
                  destination_symlinks: Iterable[str] = ()) -> list[Refused]:
    """Copy the tar stream `source` to `destination`, leaving out what `Gate` refuses."""
    gate = Gate(set(requested), set(destination_symlinks))
    refused: list[Refused] = []
    with tarfile.open(fileobj=cast(IO[bytes], source), mode="r|",
                      encoding=ENCODING) as archive, \
            tarfile.open(fileobj=destination, mode="w|",  # type: ignore[call-overload]
                         format=tarfile.PAX_FORMAT, encoding=ENCODING) as out:
        for member in archive:
            if reason := gate.refusal(member):
                refused.append(Refused(member.name, reason))
                continue
            gate.admit(member)
            member.name = normalized(member.name) or member.name
            if member.islnk():
                member.linkname = normalized(member.linkname) or member.linkname
            # tarfile writes a pax path/linkpath it was given over the name: make it anew.
            member.pax_headers = {k: v for k, v in member.pax_headers.items()
                                  if k not in ("path", "linkpath")}
            out.addfile(member, archive.extractfile(member) if member.isreg() else None)
    return refused
