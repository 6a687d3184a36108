"""Which ports are taken on a host, asked over SSH."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fabric import Connection


class RemotePorts:
    """Is nothing listening there on the host? One `ss` (iproute2, on every Debian) per
    protocol for the whole task, not one SSH round trip per declared port."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.listening: dict[str, str | None] = {}  # protocol -> `ss` output

    def free(self, address: str, port: int, protocol: str) -> bool:
        if protocol not in self.listening:
            flag = "-Hlun" if protocol == "udp" else "-Hltn"
            result = self.connection.run(f"ss {flag}", hide=True, warn=True, in_stream=False)
            self.listening[protocol] = result.stdout if result.ok else None
        output = self.listening[protocol]
        if output is None:
            return True  # cannot tell; Docker will refuse a taken port itself
        for line in output.splitlines():
            fields = line.split()
            if len(fields) < 4:
                continue
            host, _, listening = fields[3].rpartition(":")
            host = host.strip("[]").split("%")[0]
            if listening == str(port) and (host in ("*", "0.0.0.0", "::", address)
                                           or address in ("0.0.0.0", "::")):
                return False
        return True
