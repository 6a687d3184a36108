"""data.copy loses nothing and writes nowhere else: a mistyped --path with --delete deletes
nothing; a hostile old server (or a symlink at the destination) cannot make the relayed
tar write outside --to."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

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
