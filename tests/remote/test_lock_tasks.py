"""The tasks that change a host hold the project's lock there too: `images.push` (a load
re-tags `:latest`), `data.copy` and `server.bootstrap` are refused while another task
holds it, and change nothing. The lock is held by this test through pojemnik's own
engine over SSH, as a running deploy would."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from pojemnik.engine.over_ssh import connect_over_ssh
from pojemnik.hostfiles.layout import remote_dir
from pojemnik.operations.lock import this_process
from pojemnik.ssh.connection import KEEPALIVE, open_connection

from .conftest import Deployment
from .hosts import BASE_IMAGE, RemoteHost, push_image

pytestmark = pytest.mark.remote

HOLDER = "fab test-holder"
COPIED = "/srv/pjlock-copied"


@pytest.fixture()
def held(bare_deployment: Deployment, server: RemoteHost,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The project's lock on server's engine, held by this process; yields the project."""
    if server.run(f"docker image inspect {BASE_IMAGE}", check=False).returncode != 0:
        push_image(server, BASE_IMAGE)
    monkeypatch.setenv("POJEMNIK_KNOWN_HOSTS", str(server.known_hosts_path))
    engine = connect_over_ssh(server.fabric_connection(), print, owned=True)
    try:
        lock = engine.take_lock(bare_deployment.project, BASE_IMAGE, this_process(HOLDER))
        assert not hasattr(lock, "who"), f"the lock was held already: {lock}"
        try:
            yield bare_deployment.project
        finally:
            lock.release()  # type: ignore[union-attr]
    finally:
        engine.close()


def refused(deployment: Deployment, host: RemoteHost, *args: str) -> str:
    result = deployment.fab(host, *args, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert f"{deployment.project} is locked on the" in output, output
    assert f"`{HOLDER}`" in output, output
    return output


def test_images_push_is_refused_while_the_lock_is_held(
        bare_deployment: Deployment, server: RemoteHost, held: str) -> None:
    image = f"{held}/php:latest"
    subprocess.run(["docker", "tag", BASE_IMAGE, image], check=True)
    try:
        refused(bare_deployment, server, "images.push", "--name", "php")
    finally:
        subprocess.run(["docker", "rmi", image], capture_output=True)
    assert server.run(f"docker image inspect {image}", check=False).returncode != 0


def test_data_copy_is_refused_while_the_lock_is_held(
        bare_deployment: Deployment, server: RemoteHost, old_server: RemoteHost,
        held: str) -> None:
    root = server.as_user("root")
    refused(bare_deployment, root, "data.copy", "--source",
            f"{old_server.user}@{old_server.host}:{old_server.port}", "--path", "/srv/data",
            "--to", COPIED)
    assert root.run(f"test -e {COPIED}", check=False).returncode != 0


def test_server_bootstrap_is_refused_while_the_lock_is_held(
        bare_deployment: Deployment, server: RemoteHost, held: str) -> None:
    root = server.as_user("root")
    refused(bare_deployment, root, "server.bootstrap", "--owner", "deploy")
    assert root.run(f"test -e {remote_dir(held)}", check=False).returncode != 0


def test_pojemnik_connections_send_ssh_keepalives(server: RemoteHost) -> None:
    """Set on the transport, which then sends one after KEEPALIVE quiet seconds (paramiko
    keeps the interval in its packetizer; there is no public getter)."""
    connection = server.fabric_connection()
    try:
        open_connection(connection, known_hosts=server.known_hosts_path)
        transport = connection.client.get_transport()
        assert transport is not None
        assert transport.packetizer._Packetizer__keepalive_interval == KEEPALIVE  # type: ignore[attr-defined]
    finally:
        connection.close()
