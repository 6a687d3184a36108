"""Small files pojemnik owns on the engine's host, written on this machine (`LocalFiles`)
or over the task's Fabric connection (`RemoteFiles`). A write replaces the file
atomically (a temporary file renamed in the same directory, so a directory bind mount sees
the new file whole); a private mode holds from the start."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fabric import Connection


class HostFiles(Protocol):
    """Small files pojemnik owns on the engine's host."""

    def read(self, directory: str, name: str) -> str | None: ...
    def write(self, directory: str, name: str, content: str, mode: int = 0o644) -> None:
        """Replace atomically: the directory never holds a half-written file. A private
        `mode` (0o600) holds from the start: the file is never readable by others."""
        ...

    def append(self, directory: str, name: str, line: str) -> None: ...


class LocalFiles:
    def read(self, directory: str, name: str) -> str | None:
        path = Path(directory) / name
        return path.read_text() if path.is_file() else None

    def write(self, directory: str, name: str, content: str, mode: int = 0o644) -> None:
        # A private file's directory is made private too (the secrets' folder).
        Path(directory).mkdir(parents=True, exist_ok=True,
                              mode=0o700 if mode & 0o077 == 0 else 0o777)
        temporary = Path(directory) / f".{name}.tmp"
        temporary.unlink(missing_ok=True)
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                       "w") as handle:
            handle.write(content)
        temporary.chmod(mode)  # 0o644: read by the proxy's unprivileged user
        os.replace(temporary, Path(directory) / name)

    def append(self, directory: str, name: str, line: str) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        with (Path(directory) / name).open("a") as log:
            log.write(line)


class RemoteFiles:
    """The same, on a host over the open Fabric connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def read(self, directory: str, name: str) -> str | None:
        path = shlex.quote(f"{directory}/{name}")
        result = self.connection.run(f"cat {path}", hide=True, warn=True, in_stream=False)
        return str(result.stdout) if result.ok else None

    def write(self, directory: str, name: str, content: str, mode: int = 0o644) -> None:
        """The content goes on the command's standard input, never in its command line
        (which `ps` shows every user of the host): release records hold environments."""
        folder, temporary = shlex.quote(directory), shlex.quote(f"{directory}/.{name}.tmp")
        umask = "umask 077 && " if mode & 0o077 == 0 else ""  # a private folder too
        self._stream(f"({umask}mkdir -p {folder}) && rm -f {temporary} && (umask 077 && "
                     f"cat > {temporary}) && chmod {mode:o} {temporary} && "
                     f"mv -f {temporary} {shlex.quote(f'{directory}/{name}')}",
                     content, f"writing {directory}/{name}")

    def append(self, directory: str, name: str, line: str) -> None:
        self._stream(f"mkdir -p {shlex.quote(directory)} && "
                     f"cat >> {shlex.quote(f'{directory}/{name}')}", line,
                     f"appending to {directory}/{name}")

    def _stream(self, command: str, content: str, what: str) -> None:
        from ..ssh.channels import finish_channel, open_channel  # paramiko: hosts only

        self.connection.open()  # no-op when open (a task's connection always is)
        channel = open_channel(self.connection, command)
        channel.sendall(content.encode())
        channel.shutdown_write()
        finish_channel(channel, self.connection, what)
