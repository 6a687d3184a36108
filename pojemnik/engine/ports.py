"""Whether a host port is free on this machine (a remote host is asked over SSH)."""

from __future__ import annotations

import errno
import socket


def local_port_free(address: str, port: int, protocol: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as probe:
        # As servers (and docker-proxy) do: a port whose last connections linger in
        # TIME_WAIT is free to listen on again.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            # Only "in use" means busy; e.g. an address not on this host is for Docker to judge.
            return error.errno != errno.EADDRINUSE
    return True
