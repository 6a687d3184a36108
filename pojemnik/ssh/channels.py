"""Commands and byte streams on a host, over the one open SSH connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

import paramiko

from ..console import Meter, Say
from ..errors import HostCommandError
from .connection import describe

if TYPE_CHECKING:
    from fabric import Connection

CHUNK = 1 << 20


def run(connection: Connection, command: str) -> str:
    """Run a command on the host; its output, or HostCommandError with what it said."""
    result = connection.run(command, hide=True, warn=True, in_stream=False)
    if not result.ok:
        raise HostCommandError(f"{describe(connection)}: `{command[:80]}` failed: "
                               f"{result.stderr.strip() or result.stdout.strip()}")
    return str(result.stdout)


def succeeds(connection: Connection, command: str) -> bool:
    return bool(connection.run(command, hide=True, warn=True, in_stream=False).ok)


def open_channel(connection: Connection, command: str) -> paramiko.Channel:
    """A command on the host with its stdin/stdout as a stream, on the open connection."""
    transport = connection.client.get_transport()
    assert transport is not None
    channel = transport.open_session()
    channel.exec_command(command)
    return channel


def finish_channel(channel: paramiko.Channel, connection: Connection, what: str) -> None:
    status = channel.recv_exit_status()
    errors = channel.makefile_stderr("rb").read().decode(errors="replace").strip()
    channel.close()
    if status != 0:
        raise HostCommandError(f"{describe(connection)}: {what} failed (exit {status}): {errors}")



class ChannelWriter:
    """A file-like end of an SSH channel, for tarfile to stream into, showing progress."""

    def __init__(self, channel: paramiko.Channel, total: int, say: Say, label: str) -> None:
        self.channel = channel
        self.meter = Meter(label, total, say)

    @property
    def sent(self) -> int:
        return self.meter.sent

    def write(self, data: bytes) -> int:
        self.channel.sendall(data)
        self.meter.advance(len(data))
        return len(data)

    def close(self) -> None:
        self.meter.close()


def pipe(reader: paramiko.Channel, writer: paramiko.Channel, total: int, say: Say,
         label: str) -> int:
    """Copy one channel's output into another's input, then close that input."""
    progress = ChannelWriter(writer, total, say, label)
    try:
        while data := reader.recv(CHUNK):
            progress.write(data)
    finally:
        progress.close()
    writer.shutdown_write()
    return progress.sent
