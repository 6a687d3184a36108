"""How tests reach the remote test hosts: `RemoteHost` (one SSH login) and small helpers.

Everything here is plain paramiko with strict host-key checking: the known_hosts file holds
the host keys read from the containers themselves, and unknown keys are rejected.
"""

from __future__ import annotations

import dataclasses
import os
import select
import shlex
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pytest_docker.plugin import DockerComposeExecutor

if TYPE_CHECKING:
    import fabric

CHUNK = 1 << 20
# Base of both test images, and the image tests load into server's engine. Never pulled.
BASE_IMAGE = os.environ.get("PJREMOTE_BASE_IMAGE", "debian:bookworm-slim")


class RemoteCommandError(AssertionError):
    """A command run over SSH exited non-zero (with `check=True`)."""


@dataclass(frozen=True)
class CommandResult:
    command: str
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        """stdout as text (UTF-8)."""
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def err(self) -> str:
        """stderr as text (UTF-8)."""
        return self.stderr.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class KeyPair:
    private_path: Path
    public_path: Path
    public_line: str  # "ssh-ed25519 AAAA... comment", one authorized_keys line


@dataclass(frozen=True, kw_only=True)
class RemoteHost:
    """One SSH login on one test host, e.g. deploy@server.

    name: the compose service, which is also the host's DNS name on the hosts' network
    (`server`, `old-server`); host/port: where the tests reach its sshd (127.0.0.1 and an
    ephemeral published port); host_key: "ssh-ed25519 AAAA..." as read from the container
    (also written to known_hosts_path as "[127.0.0.1]:PORT ssh-ed25519 AAAA...").
    """

    name: str
    host: str = "127.0.0.1"
    port: int
    user: str
    key_path: Path
    known_hosts_path: Path
    host_key: str
    container: str = ""  # container name, for `docker exec` from the test machine
    network_address: str = ""  # its IPv4 address on the hosts' network

    def as_user(self, user: str) -> RemoteHost:
        """The same host, logged in as another user (root, deploy, postgres on old-server)."""
        return dataclasses.replace(self, user=user)

    def connect(self, timeout: float = 15.0) -> paramiko.SSHClient:
        """An open paramiko client: key login, host key checked against known_hosts_path."""
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts_path))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(self.host, port=self.port, username=self.user,
                           key_filename=str(self.key_path), look_for_keys=False,
                           allow_agent=False, timeout=timeout, banner_timeout=timeout,
                           auth_timeout=timeout)
        except BaseException:
            client.close()
            raise
        return client

    def run(self, command: str, *, stdin: bytes | IO[bytes] | None = None, check: bool = True,
            timeout: float = 600.0) -> CommandResult:
        """Run one shell command over a fresh SSH connection and collect its output.

        stdin may be bytes or a binary file (streamed, e.g. the stdout of `docker save`).
        """
        client = self.connect()
        try:
            result = run_on(client, command, stdin=stdin, timeout=timeout)
        finally:
            client.close()
        if check and result.returncode != 0:
            raise RemoteCommandError(
                f"{self.user}@{self.name}: `{command}` exited {result.returncode}\n"
                f"stdout: {result.text[-4000:]}\nstderr: {result.err[-4000:]}")
        return result

    def ssh_argv(self, *command: str) -> list[str]:
        """argv for the OpenSSH client doing the same login (ignores ~/.ssh/config)."""
        return ["ssh", "-F", "none", "-i", str(self.key_path), "-p", str(self.port),
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "PasswordAuthentication=no",
                "-o", f"UserKnownHostsFile={self.known_hosts_path}",
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes",
                f"{self.user}@{self.host}", *command]

    def fabric_connection(self) -> fabric.Connection:
        """A Fabric connection doing the same login, with the same strict host-key check
        (Fabric's own default would auto-add unknown host keys). Its `run` does not read
        our stdin (`in_stream=False`): under pytest's capture that would raise."""
        import fabric

        config = fabric.Config(overrides={"run": {"in_stream": False},
                                          "sudo": {"in_stream": False}},
                               lazy=True)
        connection = fabric.Connection(
            self.host, user=self.user, port=self.port, connect_timeout=15, config=config,
            connect_kwargs={"key_filename": str(self.key_path), "look_for_keys": False,
                            "allow_agent": False})
        connection.client.load_host_keys(str(self.known_hosts_path))
        connection.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        return connection


@dataclass(frozen=True, kw_only=True)
class RemoteEnv:
    """The whole test environment of one run."""

    project: str  # compose project name, pjremote-<random>
    workdir: Path  # tmp dir: key pair, known_hosts, ssh_config, compose.env
    key: KeyPair
    known_hosts_path: Path
    ssh_config_path: Path  # Host aliases pjremote-server, pjremote-server-root, ...
    subnet: str  # the hosts' network
    server: RemoteHost  # deploy@server
    old_server: RemoteHost  # root@old-server
    compose: DockerComposeExecutor  # .execute("logs server") etc.


def run_on(client: paramiko.SSHClient, command: str, *,
           stdin: bytes | IO[bytes] | None = None, timeout: float = 600.0) -> CommandResult:
    """Run `command` on an open client; stdout and stderr are read while stdin is sent."""
    transport = client.get_transport()
    assert transport is not None
    channel = transport.open_session(timeout=timeout)
    try:
        channel.settimeout(timeout)
        channel.exec_command(command)
        errors: list[BaseException] = []
        writer = threading.Thread(target=_send, args=(channel, stdin, errors), daemon=True)
        writer.start()
        out, err = bytearray(), bytearray()
        # Read until end of file, not until the exit status: sshd may send the status before
        # the last bytes of output (a short `getfattr` once came back empty that way).
        while not (channel.eof_received or channel.closed):
            if channel.recv_ready():
                out += channel.recv(CHUNK)
            elif channel.recv_stderr_ready():
                err += channel.recv_stderr(CHUNK)
            else:
                select.select([channel], [], [], 0.2)
        while channel.recv_ready():
            out += channel.recv(CHUNK)
        while channel.recv_stderr_ready():
            err += channel.recv_stderr(CHUNK)
        returncode = channel.recv_exit_status()
        writer.join(timeout=5)
        if errors and returncode == 0:
            raise errors[0]
        return CommandResult(command, returncode, bytes(out), bytes(err))
    finally:
        channel.close()


def _send(channel: paramiko.Channel, stdin: bytes | IO[bytes] | None,
          errors: list[BaseException]) -> None:
    try:
        if isinstance(stdin, bytes | bytearray):
            channel.sendall(stdin)
        elif stdin is not None:
            while chunk := stdin.read(CHUNK):
                channel.sendall(chunk)
        channel.shutdown_write()
    except (OSError, EOFError) as error:  # the command may exit without reading its input
        errors.append(error)


def generate_keypair(directory: Path, name: str = "id_ed25519",
                     comment: str = "pjremote-tests") -> KeyPair:
    """A new ed25519 key pair in OpenSSH format: `name` (0600) and `name`.pub."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    public_line = f"{public} {comment}"
    private_path, public_path = directory / name, directory / f"{name}.pub"
    private_path.touch(mode=0o600)
    private_path.chmod(0o600)
    private_path.write_bytes(private)
    public_path.write_text(public_line + "\n")
    return KeyPair(private_path, public_path, public_line)


def known_hosts_line(host: str, port: int, host_key: str) -> str:
    """One known_hosts line; non-default ports use OpenSSH's "[host]:port" form."""
    keytype, blob = host_key.split()[:2]
    where = host if port == 22 else f"[{host}]:{port}"
    return f"{where} {keytype} {blob}"


def push_image(host: RemoteHost, ref: str, timeout: float = 900.0) -> CommandResult:
    """`docker save REF | ssh HOST docker load`, streamed through paramiko."""
    with subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as save:
        assert save.stdout is not None
        result = host.run("docker load", stdin=save.stdout, timeout=timeout)
        _, save_err = save.communicate()
    if save.returncode != 0:
        raise RemoteCommandError(f"docker save {ref} failed: {save_err.decode()}")
    return result


def quote(*words: str) -> str:
    """Shell-quote words into one command line for `RemoteHost.run`."""
    return shlex.join(words)
