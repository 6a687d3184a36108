"""A local Unix socket whose every connection is relayed to a command on the host.

Each accepted connection gets its own SSH channel running the command (for Docker:
`docker system dial-stdio`), so any client that speaks to a Unix socket can talk to a
service on the host through the one open SSH connection. At most `limit` channels are
open at once: a stock sshd allows 10 sessions per connection (`MaxSessions`), and the
task's own commands need some too. A connection over the limit waits for a free one.
The socket lives in a private (0700) directory: it is as powerful as the command.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import paramiko

from .channels import CHUNK, open_channel

if TYPE_CHECKING:
    from fabric import Connection

SESSIONS = 6  # of sshd's default MaxSessions 10: the rest for commands and file transfers
WAIT = 300.0  # seconds a connection waits for a free channel before it is given up


class CommandSocket:
    def __init__(self, connection: Connection, command: str, limit: int = SESSIONS) -> None:
        self.connection = connection
        self.command = command
        self.slots = threading.BoundedSemaphore(limit)
        self.directory = Path(tempfile.mkdtemp(prefix="pojemnik-ssh-"))
        self.path = self.directory / "relay.sock"
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(self.path))
        self.server.listen(16)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True, name="ssh-relay").start()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.server.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client:
            if not self.slots.acquire(timeout=WAIT):
                return  # the client sees its connection closed, and reports it
            try:
                self._carry(client)
            finally:
                self.slots.release()

    def _carry(self, client: socket.socket) -> None:
        try:
            channel = open_channel(self.connection, self.command)
        except (paramiko.SSHException, OSError, EOFError):
            return  # the client sees its connection closed, and reports it
        with channel:
            upstream = threading.Thread(target=_upstream, args=(client, channel), daemon=True)
            upstream.start()
            _downstream(channel, client)
            upstream.join()


def _upstream(client: socket.socket, channel: paramiko.Channel) -> None:
    """Client -> host; the client's half-close (end of input) reaches the command."""
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        while data := client.recv(CHUNK):
            channel.sendall(data)
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        end_of_input(channel)


def end_of_input(channel: paramiko.Channel) -> None:
    """EOF to the command, unless its side is done. Sent while holding the channel's lock:
    paramiko's `shutdown_write` sends after releasing it, so when the host closes the
    channel at that moment the transport's CLOSE can go first, and OpenSSH then drops the
    whole connection ("ieof packet referred to nonexistent channel"), every other channel
    with it: seen under a Swarm deploy's many short API requests."""
    with channel.lock:
        if channel.closed or channel.eof_sent or channel.eof_received:
            return
        message = channel._send_eof()  # type: ignore[attr-defined]  # paramiko internal
        if message is not None and channel.transport is not None:
            channel.transport._send_user_message(message)  # type: ignore[attr-defined]


def _downstream(channel: paramiko.Channel, client: socket.socket) -> None:
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        while data := channel.recv(CHUNK):
            client.sendall(data)
    # The host's side is finished: so is the exchange (this also ends `_upstream`).
    with contextlib.suppress(OSError):
        client.shutdown(socket.SHUT_RDWR)
