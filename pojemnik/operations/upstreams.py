"""The proxies' upstream files, kept equal to where each upstream service runs.

Files are written on the engine's host (this machine, or over the Fabric connection),
replaced atomically (a temporary file renamed in the same directory, so the proxy's
directory bind mount sees the new file whole), and a running proxy reloads after a
change (check, then its graceful reload), one reload at a time.
"""

from __future__ import annotations

import os
import shlex
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..console import Say
from ..engine.backend import Engine
from ..planning.upstreams import ProxyUpstreams, render_upstream, upstream_files
from .reload import reload_service

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


@dataclass
class Switchboard:
    """Points each proxy's upstreams at containers, and reloads the proxy when needed."""

    proxies: list[ProxyUpstreams]
    engine: Engine
    files: HostFiles
    say: Say
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sync(self) -> None:
        """Every upstream file to where its service's container runs now."""
        for proxy in self.proxies:
            addresses = {u.container: self.engine.addresses(u.container)
                         for u in proxy.upstreams}
            self._apply(proxy, upstream_files(proxy, addresses))

    def point(self, service: str, container: str) -> bool:
        """The upstream of `service` to `container` (a replacement), live when this
        returns. False: no proxy has it as an upstream."""
        found = False
        for proxy in self.proxies:
            for upstream in proxy.upstreams:
                if upstream.service != service:
                    continue
                address = (self.engine.addresses(container) or {}).get(upstream.network)
                assert address, f"{container} is not on {upstream.network}"
                self._apply(proxy, {upstream.file: render_upstream(service, address,
                                                                   upstream.port)})
                found = True
        return found

    def _apply(self, proxy: ProxyUpstreams, files: dict[str, str]) -> None:
        with self.lock:
            changed = [name for name, content in sorted(files.items())
                       if self.files.read(proxy.directory, name) != content]
            for name in changed:
                self.files.write(proxy.directory, name, files[name])
                self.say(f"upstream {name.removesuffix('.conf')}: "
                         f"{files[name].split('server ')[1].split(';')[0]}")
            running = self.engine.state(proxy.proxy) == "running"
            if changed and running and proxy.reload is not None:
                reload_service(self.engine, proxy.proxy, proxy.reload, self.say)
                self.say(f"container {proxy.proxy}: reloaded, upstreams live")


def write_declared(proxies: list[ProxyUpstreams], files: HostFiles) -> None:
    """Each upstream at its service's declared address (for an exported compose file,
    whose containers always run there)."""
    for proxy in proxies:
        for name, content in upstream_files(proxy, {}).items():
            files.write(proxy.directory, name, content)
