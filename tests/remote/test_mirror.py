"""The file mirror against a real host over SSH: config switched in whole files, the last
good version restorable, data directories never overwritten."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric import Connection

from pojemnik.ssh.mirror import INCOMING, restore, seed_missing, send_tar, sync_files

from .hosts import RemoteHost

pytestmark = pytest.mark.remote


@pytest.fixture()
def connection(server: RemoteHost) -> Iterator[Connection]:
    connection = server.fabric_connection()
    yield connection
    connection.close()


@pytest.fixture()
def remote_root(server: RemoteHost) -> Iterator[str]:
    root = f"/tmp/pjremote-mirror-{secrets.token_hex(4)}"
    yield root
    server.run(f"rm -rf {root}")


def test_config_is_switched_in_and_the_last_good_one_restored(
        connection: Connection, server: RemoteHost, remote_root: str, tmp_path: Path) -> None:
    said: list[str] = []
    (tmp_path / "config/nginx").mkdir(parents=True)
    conf = tmp_path / "config/nginx/nginx.conf"
    conf.write_text("good\n")
    (tmp_path / "config/nginx/old.conf").write_text("old\n")
    sync_files(connection, tmp_path, ["config/nginx"], remote_root, said.append)
    assert server.run(f"cat {remote_root}/config/nginx/nginx.conf").text == "good\n"
    inode = server.run(f"stat -c %i {remote_root}/config/nginx/nginx.conf").text

    conf.write_text("broken\n")
    (tmp_path / "config/nginx/new.conf").write_text("new\n")
    (tmp_path / "config/nginx/old.conf").unlink()
    result = sync_files(connection, tmp_path, ["config/nginx"], remote_root, said.append)
    assert result.changed == ("config/nginx/new.conf", "config/nginx/nginx.conf")
    assert result.gone == ("config/nginx/old.conf",)
    assert server.run(f"test -e {remote_root}/config/nginx/old.conf", check=False).returncode
    assert server.run(f"cat {remote_root}/config/nginx/nginx.conf").text == "broken\n"
    # A new file renamed into place (a new inode), never the old one written over.
    assert server.run(f"stat -c %i {remote_root}/config/nginx/nginx.conf").text != inode
    # Nothing left in the staging area; the replaced version kept aside for a restore.
    assert server.run(f"ls -A {remote_root}").text.split() == [".pojemnik-previous", "config"]

    assert restore(connection, remote_root, result)
    assert server.run(f"cat {remote_root}/config/nginx/nginx.conf").text == "good\n"
    assert server.run(f"cat {remote_root}/config/nginx/old.conf").text == "old\n"
    assert server.run(f"test -e {remote_root}/config/nginx/new.conf", check=False).returncode


def test_an_unfinished_transfer_leaves_the_live_files_alone(
        connection: Connection, server: RemoteHost, remote_root: str, tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config/site.conf").write_text("live\n")
    sync_files(connection, tmp_path, ["config"], remote_root, lambda _: None)
    # A transfer that stopped after delivering (part of) the new files: not switched in.
    (tmp_path / "config/site.conf").write_text("half-sent\n")
    server.run(f"mkdir -p {remote_root}/{INCOMING}")
    send_tar(connection, tmp_path, ["config/site.conf"], f"{remote_root}/{INCOMING}", 0,
             lambda _: None)
    assert server.run(f"cat {remote_root}/config/site.conf").text == "live\n"
    # The next run converges: the staging area is made anew, the file switched in.
    sync_files(connection, tmp_path, ["config"], remote_root, lambda _: None)
    assert server.run(f"cat {remote_root}/config/site.conf").text == "half-sent\n"


def test_data_directories_are_made_once_and_never_overwritten(
        connection: Connection, server: RemoteHost, remote_root: str, tmp_path: Path) -> None:
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads/README").write_text("from the checkout\n")
    assert seed_missing(connection, tmp_path, ["uploads"], remote_root,
                        lambda _: None) == ["uploads"]
    assert server.run(f"cat {remote_root}/uploads/README").text == "from the checkout\n"
    # The application writes there; the checkout changes; a deploy keeps the host's data.
    server.run(f"echo user-data > {remote_root}/uploads/photo.jpg")
    (tmp_path / "uploads/README").write_text("changed in the checkout\n")
    assert seed_missing(connection, tmp_path, ["uploads"], remote_root, lambda _: None) == []
    assert server.run(f"cat {remote_root}/uploads/photo.jpg").text == "user-data\n"
    assert server.run(f"cat {remote_root}/uploads/README").text == "from the checkout\n"


def test_a_host_secret_left_empty_is_made_again_and_a_value_never_replaced(
        connection: Connection, server: RemoteHost, remote_root: str) -> None:
    from pojemnik.hostfiles.secrets import HostSecrets
    from pojemnik.planning.spec import SecretSpec

    spec = SecretSpec("db_password", f"{remote_root}/.secrets/demo/db_password", 32)
    store, said = HostSecrets(connection), []
    server.run(f"mkdir -p {remote_root}/.secrets/demo && : > {spec.path}")  # a full disk's
    assert store.present([spec]) == []
    store.create(spec, said.append)
    value = server.run(f"cat {spec.path}").text
    assert len(value) >= 32 and "its file was empty" in said[0] and value not in said[0]
    assert store.present([spec]) == ["db_password"]
    store.create(spec, said.append)
    assert server.run(f"cat {spec.path}").text == value  # never replaced
    assert server.run(f"ls -A {remote_root}/.secrets/demo").text.split() == ["db_password"]
