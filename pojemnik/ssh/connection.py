"""Opening an SSH connection to a host: strict host keys and errors that say what to do.

`fab -H user@server TASK` hands every task a Fabric `Connection`; `open_connection`
opens it with the host key checked against known_hosts (Fabric alone accepts any key).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import paramiko

from ..errors import SSHError
from .known_hosts import RevokedHostKey, UnknownHostKey, install, load

if TYPE_CHECKING:
    from fabric import Connection

CONNECT_TIMEOUT = 10
KEEPALIVE = 15  # seconds


def known_hosts_path() -> Path:
    return Path(os.environ.get("POJEMNIK_KNOWN_HOSTS") or Path.home() / ".ssh" / "known_hosts")


def trust_new_hosts() -> bool:
    return os.environ.get("POJEMNIK_TRUST_NEW_HOST", "") not in ("", "0", "no", "false")


def describe(connection: Connection) -> str:
    """user@host:port, or "this machine" for invoke's local Context."""
    if getattr(connection, "host", None) is None:
        return "this machine"
    return f"{connection.user}@{connection.host}:{connection.port}"


def known_hosts_name(connection: Connection) -> str:
    return connection.host if connection.port == 22 else f"[{connection.host}]:{connection.port}"


def open_connection(connection: Connection, known_hosts: Path | None = None,
                    trust_new: bool | None = None) -> None:
    """Open with strict host-key checking (Fabric alone accepts any key) and clear errors.

    A ProxyJump host (`connection.gateway`, a Connection made from ssh_config) is opened
    first, the same way, so its key is checked too."""
    if connection.is_connected:
        return
    path = known_hosts or known_hosts_path()
    trust = trust_new_hosts() if trust_new is None else trust_new
    gateway = connection.gateway
    if gateway and not isinstance(gateway, str):
        try:
            open_connection(gateway, path, trust)
        except SSHError as error:
            raise SSHError(f"the jump host (ProxyJump) on the way to {describe(connection)} "
                           f"was refused: {error}") from error
    # Markers understood, comments kept; a new key (when trusted) is appended, one line.
    install(connection.client, load(path), trust)
    if not connection.connect_timeout:
        connection.connect_timeout = int(os.environ.get("POJEMNIK_CONNECT_TIMEOUT")
                                         or CONNECT_TIMEOUT)
    # A host that accepts TCP but never speaks SSH must not hang us either.
    connection.connect_kwargs.setdefault("banner_timeout", connection.connect_timeout)
    connection.connect_kwargs.setdefault("auth_timeout", connection.connect_timeout)
    try:
        connection.open()
    except (paramiko.SSHException, OSError) as error:
        raise explain(error, connection, path) from error
    keep_alive(connection)


def keep_alive(connection: Connection) -> None:
    """An SSH keepalive every KEEPALIVE seconds of quiet: a NAT or firewall on the way
    keeps the connection, and a peer that vanished is noticed by this side (its TCP
    retries fail). The host's side never notices from these (sshd's ClientAliveInterval
    is off by default): the project's lock has its own heartbeat for that."""
    transport = connection.client.get_transport()
    if transport is not None:
        transport.set_keepalive(KEEPALIVE)


def through(gateway: Connection, host: str, port: int = 22) -> Connection:
    """A connection to `host` through `gateway`, as ProxyJump does: a TCP channel of the
    gateway's open SSH connection, the gateway's user, keys and settings. Open it with
    `open_connection`: its host key is checked against known_hosts like any other."""
    from fabric import Connection

    return Connection(host, user=gateway.user, port=port, config=gateway.config,
                      gateway=gateway, connect_timeout=gateway.connect_timeout,
                      connect_kwargs=dict(gateway.connect_kwargs))


def explain(error: Exception, connection: Connection, path: Path) -> SSHError:
    """What a failure to connect means, and what to do about it."""
    where, name = describe(connection), known_hosts_name(connection)
    if isinstance(error, RevokedHostKey) or (
            isinstance(error, paramiko.BadHostKeyException)
            and load(path).is_revoked(error.key)):
        key = error.key
        return SSHError(
            f"{where}: the host presented a REVOKED key ({key.get_name()} "
            f"{key.get_fingerprint().hex()} is marked @revoked in {path}). Refusing to "
            "connect: that key may be stolen. Get the server's new key from its "
            f"administrator and list it in {path}.")
    if isinstance(error, paramiko.BadHostKeyException):
        return SSHError(
            f"{where}: the host key CHANGED (known_hosts {path} has another key for "
            f"{name}; got {error.key.get_name()} "
            f"{error.key.get_fingerprint().hex()}). Refusing to connect: this may be an "
            "attack. If the server was really reinstalled, remove the old key with "
            f"`ssh-keygen -R '{name}' -f {path}`.")
    if isinstance(error, UnknownHostKey):
        return SSHError(
            f"{where}: unknown host key ({name} is not in {path}; it presented "
            f"{error.key.get_name()} {error.key.get_fingerprint().hex()}). Verify the "
            f"server's fingerprint and add it (`ssh-keyscan -p {connection.port} "
            f"{connection.host} >> {path}`), or set POJEMNIK_TRUST_NEW_HOST=1 to trust it "
            "on first use.")
    if isinstance(error, paramiko.AuthenticationException):
        return SSHError(
            f"{where}: authentication failed ({error}); check the user, and that your key "
            "(ssh-agent, ~/.ssh/id_*, or `fab -i KEY`) is in the server's "
            "authorized_keys.")
    if isinstance(error, paramiko.SSHException):
        if "banner" in str(error).lower() or "no existing session" in str(error).lower():
            return SSHError(f"{where}: no SSH answer within {connection.connect_timeout} s "
                            f"({error})")
        return SSHError(f"{where}: SSH failed: {error}")
    if isinstance(error, TimeoutError):
        return SSHError(f"{where}: no answer within {connection.connect_timeout} s "
                        "(host down, wrong port, or a firewall dropping packets)")
    return SSHError(f"{where}: cannot connect ({error})")

