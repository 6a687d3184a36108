"""data.copy loses nothing and writes nowhere else: a mistyped --path with --delete deletes
nothing; a hostile old server (or a symlink at the destination) cannot make the relayed
tar write outside --to; names with newlines and tabs are entries like any other, on
either side."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from shlex import quote as q

import pytest

from .conftest import Deployment
from .hosts import RemoteHost
from .sample import SAMPLE_ROOT

pytestmark = pytest.mark.remote


@pytest.fixture(scope="module")
def deployment(bare_deployment: Deployment) -> Deployment:
    """The project's settings only: these tests need the server's engine, not the stack."""
    return bare_deployment

KEPT = "/srv/kept"  # on server: must survive every refused copy
OUTSIDE = "/srv/outside"  # on server: must stay empty


def source_of(old: RemoteHost) -> str:
    return f"{old.user}@{old.host}:{old.port}"


@pytest.fixture()
def kept(server: RemoteHost) -> Iterator[str]:
    root = server.as_user("root")
    root.run(f"mkdir -p {KEPT}/sub && echo one > {KEPT}/a.txt && echo two > {KEPT}/sub/b.txt")
    listing = root.run(f"cd {KEPT} && find . | sort").text
    yield listing
    root.run(f"rm -rf {KEPT}")


def copy(deployment: Deployment, server: RemoteHost, old: RemoteHost, *args: str) -> str:
    result = deployment.fab(server.as_user("root"), "data.copy", "--source", source_of(old),
                            *args, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    return output


def test_delete_with_a_mistyped_path_deletes_nothing(deployment: Deployment,
                                                    server: RemoteHost,
                                                    old_server: RemoteHost,
                                                    kept: str) -> None:
    root = server.as_user("root")
    output = copy(deployment, server, old_server, "--path", "/srv/dta", "--to", KEPT,
                  "--delete")
    assert "/srv/dta does not exist; check --path" in output
    assert root.run(f"cd {KEPT} && find . | sort").text == kept
    # The same in direct mode (rsync --delete would delete during the transfer).
    output = copy(deployment, server, old_server, "--path", "/srv/dta", "--to", KEPT,
                  "--delete", "--direct", old_server.name)
    assert "does not exist" in output
    assert root.run(f"cd {KEPT} && find . | sort").text == kept


def test_an_empty_or_non_directory_source_is_refused(deployment: Deployment,
                                                     server: RemoteHost,
                                                     old_server: RemoteHost,
                                                     kept: str) -> None:
    root = server.as_user("root")
    old_server.run("mkdir -p /srv/empty-source")
    try:
        output = copy(deployment, server, old_server, "--path", "/srv/empty-source",
                      "--to", KEPT, "--delete")
        assert "is empty" in output and "would delete everything there" in output
        output = copy(deployment, server, old_server, "--path",
                      f"{SAMPLE_ROOT}/old-mtime.txt", "--to", KEPT, "--delete")
        assert "is not a directory" in output
    finally:
        old_server.run("rm -rf /srv/empty-source")
    assert root.run(f"cd {KEPT} && find . | sort").text == kept


def hostile_archive() -> bytes:
    """What a compromised old server might send for `tar --create`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"",
                linkname: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size, info.mode = kind, linkname, len(data), 0o644
            tar.addfile(info, io.BytesIO(data) if data else None)
        add("ok.txt", data=b"ok\n")
        add("link", tarfile.SYMTYPE, linkname=OUTSIDE)
        add("link/x", data=b"pwned\n")
        add("../escape.txt", data=b"pwned\n")
        add("extra.txt", data=b"not asked for\n")
    return buffer.getvalue()


WRAPPER = """#!/bin/sh
# pjremote test: answer `tar --create` with a crafted archive.
case " $* " in
  *" --create "*) cat >/dev/null; cat /tmp/pjremote-hostile.tar; exit 0 ;;
esac
exec /usr/bin/tar "$@"
"""


def test_a_hostile_archive_writes_nothing_outside_the_target(deployment: Deployment,
                                                             server: RemoteHost,
                                                             old_server: RemoteHost) -> None:
    root = server.as_user("root")
    target = "/srv/hostile-copy"
    root.run(f"mkdir -p {OUTSIDE}")
    old_server.run("mkdir -p /srv/hostile/link && echo x > /srv/hostile/link/x && "
                   "echo ok > /srv/hostile/ok.txt")
    old_server.run("cat > /tmp/pjremote-hostile.tar", stdin=hostile_archive())
    old_server.run("cat > /usr/local/bin/tar && chmod 755 /usr/local/bin/tar",
                   stdin=WRAPPER.encode())
    try:
        output = copy(deployment, server, old_server, "--path", "/srv/hostile",
                      "--to", target, "--delete")
        assert "link/x (inside the symlink link)" in output
        assert "../escape.txt (absolute or outside the target)" in output
        assert "extra.txt (not asked for)" in output
        assert "nothing was deleted" in output
        assert root.run(f"find {OUTSIDE} -mindepth 1").text == ""
        assert root.run("test -e /srv/escape.txt", check=False).returncode != 0
        assert root.run(f"test -e {target}/extra.txt", check=False).returncode != 0
    finally:
        old_server.run("rm -f /usr/local/bin/tar /tmp/pjremote-hostile.tar; "
                       "rm -rf /srv/hostile")
        root.run(f"rm -rf {target} {OUTSIDE} /srv/escape.txt")


def test_a_symlink_at_the_destination_is_not_written_through(deployment: Deployment,
                                                             server: RemoteHost,
                                                             old_server: RemoteHost) -> None:
    root = server.as_user("root")
    target = "/srv/linked-copy"
    root.run(f"mkdir -p {OUTSIDE} {target} && chmod 700 {OUTSIDE} && "
             f"ln -sfn {OUTSIDE} {target}/place")
    old_server.run("mkdir -p /srv/linked/place && echo y > /srv/linked/place/y && "
                   "chown 1001:1001 /srv/linked/place")
    try:
        output = copy(deployment, server, old_server, "--path", "/srv/linked", "--to", target)
        assert "place/y (inside the symlink place)" in output
        assert "place (a directory where the destination has a symlink)" in output
        assert root.run(f"find {OUTSIDE} -mindepth 1").text == ""
        assert root.run(f"stat -c '%u %a' {OUTSIDE}").text.strip() == "0 700"
    finally:
        old_server.run("rm -rf /srv/linked")
        root.run(f"rm -rf {target} {OUTSIDE}")


# A directory name with a newline and a forged listing line ending in `..`: with a directory
# `nl-canary` in it, a listing of one line per entry showed `../nl-canary` to --delete.
CRAFTED = "x\nd\t755\t0:0\t0\t0\t1\t\t.."
NEWLINE_NAME = "line\nbreak.txt"


def manifest(host: RemoteHost, path: str) -> str:
    """The test hosts' own manifest tool (owners, modes, links, xattrs, ACLs)."""
    return host.run(f"pjremote-manifest {q(path)}").text


def test_a_name_with_a_newline_on_the_source_is_copied_and_verified(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost) -> None:
    root = server.as_user("root")
    source, target = "/srv/nl-source", "/srv/nl-copy"
    newline, tabbed = f"{source}/{NEWLINE_NAME}", f"{source}/{CRAFTED}/tab\there.txt"
    old_server.run(f"mkdir -p {q(f'{source}/{CRAFTED}')} && echo one > {q(newline)} && "
                   f"echo two > {q(tabbed)} && setfattr -n user.note -v x {q(newline)} && "
                   f"ln -s {q(NEWLINE_NAME)} {source}/link")
    try:
        args = ("--source", source_of(old_server), "--path", source, "--to", target)
        first = deployment.fab(root, "data.copy", *args)
        assert "verified: 4 entries match" in first.stdout, first.stdout
        assert root.run(f"cat {q(f'{target}/{NEWLINE_NAME}')}").text == "one\n"
        assert manifest(root, target) == manifest(old_server, source)
        again = deployment.fab(root, "data.copy", *args)
        assert "files: 0 copied (0 bytes), 4 unchanged" in again.stdout, again.stdout
    finally:
        old_server.run(f"rm -rf {source}")
        root.run(f"rm -rf {target}")


def test_a_crafted_name_at_the_destination_makes_delete_delete_nothing_outside_to(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost) -> None:
    root = server.as_user("root")
    source, target, canary = "/srv/nl-plain", "/srv/nl-target", "/srv/nl-canary"
    old_server.run(f"mkdir -p {source} && echo a > {source}/a.txt")
    root.run(f"mkdir -p {q(f'{target}/{CRAFTED}/nl-canary')} {canary} && "
             f"echo kept > {canary}/keep.txt")
    try:
        result = deployment.fab(root, "data.copy", "--source", source_of(old_server),
                                "--path", source, "--to", target, "--delete", check=False)
        assert root.run(f"cat {canary}/keep.txt", check=False).text == "kept\n"
        assert result.returncode == 0, result.stdout + result.stderr
        assert "2 deleted" in result.stdout, result.stdout
        assert manifest(root, target) == manifest(old_server, source)
    finally:
        old_server.run(f"rm -rf {source}")
        root.run(f"rm -rf {target} {canary}")
