"""The Docker engine of a host, through the task's one SSH connection.

The Docker SDK talks to a local Unix socket (its public `unix://` transport) that is
relayed, one SSH channel per API connection, to `docker system dial-stdio` on the host:
the same thing `docker -H ssh://host` does, without a second SSH login and with the
host key already checked by `ssh.connection.open_connection`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import docker

from ..console import Say
from ..errors import DockerError
from ..ssh.connection import describe, open_connection
from ..ssh.disk import RemoteDisk
from ..ssh.ports import RemotePorts
from ..ssh.relay import SESSIONS, CommandSocket
from .docker_engine import DockerEngine

if TYPE_CHECKING:
    from fabric import Connection

API_VERSION = "1.41"  # Docker 20.10, Debian bookworm's docker.io; newer engines accept it


def connect_over_ssh(connection: Connection, say: Say, owned: bool = False) -> DockerEngine:
    """The host's engine; `owned`: closing the engine closes the connection too."""
    open_connection(connection)
    version = check_docker(connection)
    where = describe(connection)
    # Not on standard output: that is for the task's own result (`--json`).
    print(f"{where}: Docker {version}", file=sys.stderr, flush=True)
    relay = CommandSocket(connection, "docker system dial-stdio")
    client = docker.DockerClient(base_url=relay.url, version=API_VERSION, timeout=600,
                                 max_pool_size=SESSIONS)
    # One request per connection: an idle kept-alive connection would hold one of the
    # few SSH channels (docker-py keeps a pool per URL), and requests waiting for a
    # channel would wait for ever. A channel is cheap to open on a connection that is.
    client.api.headers["Connection"] = "close"

    def close() -> None:
        relay.close()
        if owned:
            connection.close()

    return DockerEngine(client, where, port_free=RemotePorts(connection).free,
                        on_close=close, disk=RemoteDisk(connection))


def check_docker(connection: Connection) -> str:
    """The remote engine's version, or a clear error saying what is missing."""
    result = connection.run("docker version --format '{{.Server.Version}}'", hide=True,
                            warn=True, in_stream=False)
    where = describe(connection)
    if result.ok:
        return str(result.stdout.strip())
    text = (result.stderr + result.stdout).strip()
    if result.exited == 127 or "not found" in text:
        raise DockerError(f"{where}: Docker is not installed; run `fab -H {connection.host} "
                          "server.bootstrap` (installs Debian's docker.io)")
    if "permission denied" in text.lower():
        raise DockerError(f"{where}: user {connection.user} may not use Docker; add it to "
                          f"the docker group (`usermod -aG docker {connection.user}`) or "
                          "connect as root")
    raise DockerError(f"{where}: Docker does not answer: {text}")

