"""Copy files from the previous installation, verified.

Files travel from the old host to the new one through this machine (the hosts need not
see each other), as one tar stream of only what differs, with owners (numeric), modes,
hard links, symlinks, xattrs and ACLs: what `rsync -aHAX --numeric-ids` keeps. Both
sides are described by a checksum manifest before (to know what to send, so a second run
sends nothing and an interrupted one resumes) and after (to verify). Nothing on the
destination is deleted unless asked, and then only after the copy is verified, and never
when the source is missing, not a directory, or empty (datacopy_guard). The relayed
stream is filtered on the way (safe_tar): nothing is written outside the target.
"""

from __future__ import annotations

import re
import shlex
import tarfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...console import Say
from ...errors import HostCommandError, OperationError
from ...ssh.channels import CHUNK, ChannelWriter, finish_channel, open_channel, run
from ...ssh.connection import describe
from ._guard import check_source, delete_extra
from .manifest import Difference, Manifest, difference, manifest
from .safe_tar import Refused, filter_stream

if TYPE_CHECKING:
    from fabric import Connection

ITEMIZED = re.compile(r"^([<>ch.][fdLDS]\S{9}|\*deleting) ")
# --direct goes into an ssh command line and an rsync remote: a host name or IPv4 address,
# nothing that ssh could read as an option (`-oProxyCommand=...`) or a shell as syntax.
DIRECT_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
DIRECT_PORT = re.compile(r"[0-9]{1,5}")
TAR_FLAGS = "--numeric-owner --xattrs --xattrs-include='*' --acls"


@dataclass(frozen=True)
class FilesReport:
    copied: int
    bytes: int
    unchanged: int
    deleted: int
    verified: int
    would: list[str] = field(default_factory=list)  # with dry: what would change


def copy_files(source: Connection, source_path: str, destination: Connection,
               destination_path: str, say: Say, dry: bool = False,
               delete: bool = False) -> FilesReport:
    check_source(source, source_path, destination, destination_path, delete)
    there = manifest(destination, destination_path)
    before = difference(manifest(source, source_path), there)
    if dry:
        would = [f"send {p}" for p in before.send]
        would += [f"{'delete' if delete else 'keep (only on destination)'} {p}"
                  for p in before.extra]
        return FilesReport(0, 0, before.unchanged, 0, 0, would)
    refused: list[Refused] = []
    if before.send:
        say(f"files: sending {len(before.send)} entries ({before.bytes / 2**20:.1f} MiB) "
            f"from {describe(source)}:{source_path} to {describe(destination)}:"
            f"{destination_path}")
        run(destination, f"mkdir -p {shlex.quote(destination_path)}")
        symlinks = {p for p, e in there.entries.items() if e.kind == "l"}
        refused = relay_tar(source, source_path, destination, destination_path, before,
                            symlinks, say)
    source_after, after = verify(source, source_path, destination, destination_path, refused)
    deleted = delete_extra(destination, destination_path, after.extra) if delete else 0
    return FilesReport(len(before.send), before.bytes, before.unchanged, deleted,
                       len(source_after.entries))


def verify(source: Connection, source_path: str, destination: Connection,
           destination_path: str, refused: list[Refused]) -> tuple[Manifest, Difference]:
    """Both sides described afresh must now agree on every source entry; else (or if
    entries were refused) an error, before anything is deleted."""
    source_after = manifest(source, source_path)
    destination_after = manifest(destination, destination_path)
    after = difference(source_after, destination_after)
    problems = []
    if refused:
        problems.append(f"refused {len(refused)} entries of the old host's archive (they "
                        "would have been written outside the target, or were not asked "
                        f"for): {', '.join(map(str, refused[:20]))}")
    if after.send:
        problems.append(f"verification failed: {len(after.send)} entries differ after the "
                        f"copy, e.g. {after.send[:5]}")
    if source_after.hardlinks() - destination_after.hardlinks():
        problems.append("verification failed: hard links were not kept")
    if problems:
        raise OperationError("; ".join(problems) + "; nothing was deleted (--delete waits "
                             "for a verified copy); what was copied is kept, run again to "
                             "resume")
    return source_after, after


def relay_tar(source: Connection, source_path: str, destination: Connection,
              destination_path: str, before: Difference, destination_symlinks: set[str],
              say: Say) -> list[Refused]:
    """The old host's tar stream, filtered here (safe_tar), into tar on the new host."""
    # -C and --no-recursion are positional: they must come before the file list.
    create = open_channel(source, f"tar --create --file=- {TAR_FLAGS} -C "
                          f"{shlex.quote(source_path)} --no-recursion --null "
                          "--files-from=-")
    create.sendall(b"".join(p.encode() + b"\0" for p in before.send))
    create.shutdown_write()
    extract = open_channel(destination, "tar --extract --file=- --same-permissions "
                           f"--same-owner {TAR_FLAGS} -C {shlex.quote(destination_path)}")
    reader = create.makefile("rb")
    try:
        refused = filter_stream(reader, ChannelWriter(extract, before.bytes, say, "files"),
                                before.send, destination_symlinks)
    except tarfile.TarError as error:
        raise OperationError(f"{describe(source)}: its tar stream is not a valid archive "
                             f"({error}); nothing was deleted") from error
    except OSError as error:  # the new host's tar stopped reading: say what it said
        finish_channel(extract, destination, "tar --extract")
        raise HostCommandError(f"{describe(destination)}: sending to tar --extract failed "
                               f"({error}); nothing was deleted") from error
    finally:
        extract.shutdown_write()
        while reader.read(CHUNK):  # whatever follows the archive's end
            pass
    finish_channel(create, source, "tar --create")
    finish_channel(extract, destination, "tar --extract")
    return refused


def copy_files_direct(source: Connection, source_path: str, destination: Connection,
                      destination_path: str, address: str, say: Say, dry: bool = False,
                      delete: bool = False) -> FilesReport:
    """The new host pulls straight from the old one with `rsync -aHAX --numeric-ids`,
    authenticating with the ssh-agent forwarded from here for this command. The old
    host's key is the one this machine just verified, pinned for that one connection."""
    host, port = direct_address(address)
    check_source(source, source_path, destination, destination_path, delete)
    transport = source.client.get_transport()
    assert transport is not None
    key = transport.get_remote_server_key()
    name = host if port == 22 else f"[{host}]:{port}"
    pinned = run(destination, "mktemp").strip()
    try:
        line = f"{name} {key.get_name()} {key.get_base64()}"
        run(destination, f"printf '%s\\n' {shlex.quote(line)} > {pinned}")
        ssh = (f"ssh -p {port} -o BatchMode=yes -o StrictHostKeyChecking=yes "
               f"-o UserKnownHostsFile={pinned} -o ConnectTimeout=10")
        flags = "-aHAX --numeric-ids --partial --stats --itemize-changes"
        # rsync --delete would delete during the transfer, before anything is verified:
        # only a dry run asks it (to list what would go); the real deletion follows the
        # verification below, of exactly what the verified manifests show as extra.
        flags += " --dry-run --delete" if dry and delete else " --dry-run" if dry else ""
        remote = f"{source.user}@{host}:{source_path.rstrip('/')}/"
        say(f"files: {describe(destination)} pulls {remote} directly (rsync)")
        mkdir = "" if dry else f"mkdir -p {shlex.quote(destination_path)} && "
        # The new host logs in to the old one with your key, via your agent: forwarded
        # for this one command only.
        forwarding, destination.forward_agent = destination.forward_agent, True
        try:
            result = destination.run(
                f"{mkdir}rsync {flags} -e {shlex.quote(ssh)} "
                f"{shlex.quote(remote)} {shlex.quote(destination_path.rstrip('/') + '/')}",
                hide=True, warn=True, in_stream=False)
        finally:
            destination.forward_agent = forwarding
    finally:
        destination.run(f"rm -f {pinned}", hide=True, warn=True, in_stream=False)
    if not result.ok:
        # 23/24: some files were not (or not completely) transferred: never a success.
        raise HostCommandError(f"rsync on {describe(destination)} failed (exit {result.exited}); "
                          "what was copied is kept, run again to resume:\n"
                          f"{result.stderr.strip()[-2000:]}")
    stats = _rsync_stats(result.stdout)
    # --itemize-changes lines ("cd+++++++++ dir/", ">f.st...... file", "*deleting x"),
    # without the unchanged ones (".d..t...... ./").
    changes = [line for line in result.stdout.splitlines()
               if ITEMIZED.match(line) and not line.startswith(".")]
    if dry:
        return FilesReport(0, 0, 0, 0, 0, changes)
    source_after, after = verify(source, source_path, destination, destination_path, [])
    copied = stats.get("Number of regular files transferred", 0)
    deleted = delete_extra(destination, destination_path, after.extra) if delete else 0
    return FilesReport(copied, stats.get("Total transferred file size", 0),
                       len(source_after.entries) - copied, deleted, len(source_after.entries))


def direct_address(address: str) -> tuple[str, int]:
    """`--direct HOST[:PORT]` as (host, port); ValueError saying what is wrong with it."""
    host, colon, port = address.partition(":")
    if not DIRECT_HOST.fullmatch(host):
        raise ValueError(f"the host {host!r} is not a host name or IPv4 address (letters, "
                         "digits, '.', '-' and '_', starting with a letter or digit)")
    if not colon:
        return host, 22
    if not DIRECT_PORT.fullmatch(port) or not 1 <= int(port) <= 65535:
        raise ValueError(f"the port {port!r} is not a number from 1 to 65535")
    return host, int(port)


def _rsync_stats(output: str) -> dict[str, int]:
    stats: dict[str, int] = {}
    for line in output.splitlines():
        label, _, value = line.partition(":")
        number = value.strip().split(" ")[0].replace(",", "")
        if label and number.isdigit():
            stats[label.strip()] = int(number)
    return stats
