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

if TYPE_CHECKING:
    from fabric import Connection

CONNECT_TIMEOUT = 10


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
    """Open with strict host-key checking (Fabric alone accepts any key) and clear errors."""
    if connection.is_connected:
        return
    path = known_hosts or known_hosts_path()
    trust = trust_new_hosts() if trust_new is None else trust_new
    client = connection.client
    if path.exists():
        client.load_host_keys(str(path))
    elif trust:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600)
        client.load_host_keys(str(path))
    # Trust on first use only when asked: the new key is then saved to known_hosts.
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy() if trust
                                       else paramiko.RejectPolicy())
    if not connection.connect_timeout:
        connection.connect_timeout = int(os.environ.get("POJEMNIK_CONNECT_TIMEOUT")
                                         or CONNECT_TIMEOUT)
    # A host that accepts TCP but never speaks SSH must not hang us either.
    connection.connect_kwargs.setdefault("banner_timeout", connection.connect_timeout)
    connection.connect_kwargs.setdefault("auth_timeout", connection.connect_timeout)
    where = describe(connection)
    try:
        connection.open()
    except paramiko.BadHostKeyException as error:
        raise SSHError(
            f"{where}: the host key CHANGED (known_hosts {path} has another key for "
            f"{known_hosts_name(connection)}; got {error.key.get_name()} "
            f"{error.key.get_fingerprint().hex()}). Refusing to connect: this may be an "
            "attack. If the server was really reinstalled, remove the old key with "
            f"`ssh-keygen -R '{known_hosts_name(connection)}' -f {path}`.") from error
    except paramiko.AuthenticationException as error:
        raise SSHError(
            f"{where}: authentication failed ({error}); check the user, and that your key "
            "(ssh-agent, ~/.ssh/id_*, or `fab -i KEY`) is in the server's "
            "authorized_keys.") from error
    except paramiko.SSHException as error:
        if "banner" in str(error).lower() or "no existing session" in str(error).lower():
            raise SSHError(f"{where}: no SSH answer within {connection.connect_timeout} s "
                              f"({error})") from error
        if "not found in known_hosts" in str(error):
            raise SSHError(
                f"{where}: unknown host key ({known_hosts_name(connection)} is not in "
                f"{path}). Verify the server's fingerprint and add it (`ssh-keyscan -p "
                f"{connection.port} {connection.host} >> {path}`), or set "
                "POJEMNIK_TRUST_NEW_HOST=1 to trust it on first use.") from error
        raise SSHError(f"{where}: SSH failed: {error}") from error
    except TimeoutError as error:
        raise SSHError(f"{where}: no answer within {connection.connect_timeout} s "
                          "(host down, wrong port, or a firewall dropping packets)") from error
    except OSError as error:
        raise SSHError(f"{where}: cannot connect ({error})") from error

