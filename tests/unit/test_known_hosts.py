"""known_hosts with markers and comments, revoked keys, trust on first use by appending:
against a real paramiko SSH server on 127.0.0.1 (in this process, no Docker)."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import fabric
import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pojemnik.errors import SSHError
from pojemnik.ssh.connection import open_connection
from pojemnik.ssh.known_hosts import load, parse


def new_key() -> paramiko.Ed25519Key:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()).decode()
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem))


def line(name: str, key: paramiko.PKey) -> str:
    return f"{name} {key.get_name()} {key.get_base64()}"


class PasswordServer(paramiko.ServerInterface):
    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        return paramiko.AUTH_SUCCESSFUL


class Host:
    """An SSH server on 127.0.0.1 that answers any number of connections with `key`."""

    def __init__(self, key: paramiko.PKey) -> None:
        self.key = key
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.name = f"[127.0.0.1]:{self.port}"
        self.transports: list[paramiko.Transport] = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(sock)
            transport.add_server_key(self.key)
            self.transports.append(transport)
            try:
                transport.start_server(server=PasswordServer())
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    def close(self) -> None:
        self.listener.close()
        for transport in self.transports:
            transport.close()

    def connection(self) -> fabric.Connection:
        return fabric.Connection("127.0.0.1", port=self.port, user="tester",
                                 connect_kwargs={"password": "x", "look_for_keys": False,
                                                 "allow_agent": False})


@pytest.fixture()
def host() -> Iterator[Host]:
    server = Host(new_key())
    yield server
    server.close()


def connect(host: Host, known: Path, trust: bool = False) -> fabric.Connection:
    connection = host.connection()
    try:
        open_connection(connection, known_hosts=known, trust_new=trust)
    finally:
        connection.close()
        connection.client.close()  # also after a refusal: its socket
    return connection


def test_markers_and_comments_are_understood(tmp_path: Path) -> None:
    known, revoked, ca = new_key(), new_key(), new_key()
    text = ("# my servers\n\n"
            f"@cert-authority *.example.com {ca.get_name()} {ca.get_base64()}\n"
            f"@revoked * {revoked.get_name()} {revoked.get_base64()}\n"
            f"{line('a.example.com,10.0.0.1', known)}\n"
            f"{line('b.example.com', revoked)} old key\n")
    parsed = parse(text, tmp_path / "known_hosts")
    names = [name for name, _ in parsed.entries]
    assert names == ["a.example.com", "10.0.0.1"]  # the revoked one is never "known"
    assert parsed.is_revoked(revoked) and not parsed.is_revoked(known)
    assert not parsed.is_revoked(ca) and ca.get_base64() not in str(parsed.entries)


def test_a_known_host_is_accepted_with_markers_in_the_file(host: Host, tmp_path: Path) -> None:
    other = new_key()
    known = tmp_path / "known_hosts"
    known.write_text(f"# comment\n@cert-authority *.example.com {line('', other).strip()}\n"
                     f"@revoked * {other.get_name()} {other.get_base64()}\n"
                     f"{line(host.name, host.key)}\n")
    connection = connect(host, known)  # before: paramiko's InvalidHostKey, a traceback
    assert connection.client is not None


def test_a_revoked_key_is_refused_even_when_listed(host: Host, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"@revoked * {host.key.get_name()} {host.key.get_base64()}\n"
                     f"{line(host.name, host.key)}\n")
    with pytest.raises(SSHError, match="REVOKED"):
        connect(host, known)
    with pytest.raises(SSHError, match="REVOKED"):
        connect(host, known, trust=True)  # trusting new hosts never trusts a revoked key
    assert known.read_text().count(host.key.get_base64()) == 2  # nothing added


def test_an_unknown_key_is_refused_and_the_file_untouched(host: Host, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("# only a comment\n")
    with pytest.raises(SSHError, match="unknown host key"):
        connect(host, known)
    assert known.read_text() == "# only a comment\n"


def test_trusting_a_new_host_appends_one_line(host: Host, tmp_path: Path) -> None:
    other = new_key()
    known = tmp_path / "known_hosts"
    before = (f"# keep me\n@cert-authority *.example.com {other.get_name()} "
              f"{other.get_base64()}\n{line(paramiko.HostKeys.hash_host('elsewhere'), other)}")
    known.write_text(before)  # no final newline
    connect(host, known, trust=True)
    assert known.read_text() == f"{before}\n{line(host.name, host.key)}\n"
    connect(host, known)  # now known: accepted without trusting anything new
    assert load(known).entries[-1][0] == host.name


def test_a_changed_key_is_refused(host: Host, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"{line(host.name, new_key())}\n")
    with pytest.raises(SSHError, match="host key CHANGED"):
        connect(host, known)


def test_trusting_a_new_host_keeps_the_comments(host: Host, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    before = f"# the office router\n{line('router.example.com', new_key())}\n"
    known.write_text(before)
    connect(host, known, trust=True)  # before: paramiko rewrote the file, comments lost
    assert known.read_text() == f"{before}{line(host.name, host.key)}\n"


def test_a_jump_host_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    target, jump = Host(new_key()), Host(new_key())
    try:
        known = tmp_path / "known_hosts"
        known.write_text(f"{line(target.name, target.key)}\n")  # the jump host is not listed
        connection = target.connection()
        connection.gateway = jump.connection()  # as Fabric makes it from ProxyJump
        try:
            with pytest.raises(SSHError, match=r"jump host .* unknown host key"):
                open_connection(connection, known_hosts=known, trust_new=False)
        finally:
            connection.gateway.client.close()
            connection.client.close()
        assert not connection.is_connected
    finally:
        target.close()
        jump.close()
