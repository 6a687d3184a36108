"""Remote hosts over SSH: one Fabric connection carries the Docker API and the file sync.

`fab -H user@server deploy` hands every task a Fabric `Connection` instead of an
Invoke `Context`; `engine_for` turns that into an `Engine` whose Docker SDK client
talks through that same SSH connection (a channel per HTTP connection running
`docker system dial-stdio` on the host), after checking the host key strictly.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paramiko

from .engine import Engine, EngineError, Say
from .model import Stack
from .spec import memory_bytes

if TYPE_CHECKING:
    import docker
    from fabric import Connection

DEFAULT_REMOTE_DIR = "/srv/pojemnik"
CONNECT_TIMEOUT = 10
API_VERSION = "1.41"  # Docker 20.10, Debian bookworm's docker.io; newer engines accept it


def known_hosts_path() -> Path:
    return Path(os.environ.get("POJEMNIK_KNOWN_HOSTS") or Path.home() / ".ssh" / "known_hosts")


def trust_new_hosts() -> bool:
    return os.environ.get("POJEMNIK_TRUST_NEW_HOST", "") not in ("", "0", "no", "false")


def describe(connection: Connection) -> str:
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
        raise EngineError(
            f"{where}: the host key CHANGED (known_hosts {path} has another key for "
            f"{known_hosts_name(connection)}; got {error.key.get_name()} "
            f"{error.key.get_fingerprint().hex()}). Refusing to connect: this may be an "
            "attack. If the server was really reinstalled, remove the old key with "
            f"`ssh-keygen -R '{known_hosts_name(connection)}' -f {path}`.") from error
    except paramiko.AuthenticationException as error:
        raise EngineError(
            f"{where}: authentication failed ({error}); check the user, and that your key "
            "(ssh-agent, ~/.ssh/id_*, or `fab -i KEY`) is in the server's "
            "authorized_keys.") from error
    except paramiko.SSHException as error:
        if "banner" in str(error).lower() or "no existing session" in str(error).lower():
            raise EngineError(f"{where}: no SSH answer within {connection.connect_timeout} s "
                              f"({error})") from error
        if "not found in known_hosts" in str(error):
            raise EngineError(
                f"{where}: unknown host key ({known_hosts_name(connection)} is not in "
                f"{path}). Verify the server's fingerprint and add it (`ssh-keyscan -p "
                f"{connection.port} {connection.host} >> {path}`), or set "
                "POJEMNIK_TRUST_NEW_HOST=1 to trust it on first use.") from error
        raise EngineError(f"{where}: SSH failed: {error}") from error
    except TimeoutError as error:
        raise EngineError(f"{where}: no answer within {connection.connect_timeout} s "
                          "(host down, wrong port, or a firewall dropping packets)") from error
    except OSError as error:
        raise EngineError(f"{where}: cannot connect ({error})") from error


def check_docker(connection: Connection) -> str:
    """The remote engine's version, or a clear error saying what is missing."""
    result = connection.run("docker version --format '{{.Server.Version}}'", hide=True,
                            warn=True, in_stream=False)
    where = describe(connection)
    if result.ok:
        return str(result.stdout.strip())
    text = (result.stderr + result.stdout).strip()
    if result.exited == 127 or "not found" in text:
        raise EngineError(f"{where}: Docker is not installed; run `fab -H {connection.host} "
                          "server.bootstrap` (installs Debian's docker.io)")
    if "permission denied" in text.lower():
        raise EngineError(f"{where}: user {connection.user} may not use Docker; add it to "
                          f"the docker group (`usermod -aG docker {connection.user}`) or "
                          "connect as root")
    raise EngineError(f"{where}: Docker does not answer: {text}")


def docker_client(connection: Connection) -> docker.DockerClient:
    """A Docker SDK client whose every API call rides the already open SSH connection."""
    import docker
    from docker.transport import SSHHTTPAdapter
    from urllib3._collections import RecentlyUsedContainer

    class SharedConnectionAdapter(SSHHTTPAdapter):
        def __init__(self) -> None:  # skip SSHHTTPAdapter's own paramiko client
            self.ssh_client = connection.client
            self.ssh_params: dict[str, Any] = {}
            self.ssh_host = connection.host
            self.timeout = 600
            self.max_pool_size = 10
            self.pools: Any = RecentlyUsedContainer(10, dispose_func=lambda p: p.close())
            super(SSHHTTPAdapter, self).__init__()

        def _connect(self) -> None:
            connection.open()

        def close(self) -> None:  # the connection belongs to Fabric
            self.pools.clear()

    api = docker.APIClient(base_url="http://127.0.0.1:9", version=API_VERSION, timeout=600)
    adapter = SharedConnectionAdapter()
    api.mount("http+docker://ssh", adapter)
    api._unmount("http://", "https://")
    api.base_url = "http+docker://ssh"
    api._custom_adapter = adapter
    client = docker.DockerClient.__new__(docker.DockerClient)
    client.api = api
    return client


def remote_dir(project: str) -> str:
    base = os.environ.get("POJEMNIK_REMOTE_DIR") or DEFAULT_REMOTE_DIR
    return f"{base.rstrip('/')}/{project}"


def engine_for(connection: Connection, say: Say) -> Engine:
    open_connection(connection)
    version = check_docker(connection)
    say(f"{describe(connection)}: Docker {version}")
    return Engine(docker_client(connection), port_free=RemotePorts(connection).free)


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


def push_images(local: Engine, remote: Engine, tags: list[str], say: Say) -> None:
    """`docker save` here, `docker load` there, streamed; skipped where the host already
    has the same image id. Labels (the build-context hash) travel with the image, so the
    host's plan then sees them as built."""
    here, there = local.image_ids(), remote.image_ids()
    for tag in tags:
        if tag not in here:
            raise EngineError(f"image {tag} is not built here; run `invoke images.build` "
                              "(and `invoke images.base`) first")
        if there.get(tag) == here[tag]:
            say(f"image {tag}: already on the host")
            continue
        say(f"image {tag}: sending ({here[tag][7:19]})")
        sent = 0

        def chunks(tag: str = tag) -> Iterable[bytes]:
            nonlocal sent
            for chunk in local.api.get_image(tag, chunk_size=1 << 20):
                sent += len(chunk)
                if sent // (64 << 20) != (sent - len(chunk)) // (64 << 20):
                    say(f"image {tag}: {sent >> 20} MiB sent")
                yield chunk

        for _ in remote.api.load_image(chunks()):
            pass
        if remote.image_ids().get(tag) != here[tag]:
            raise EngineError(f"image {tag}: the host did not end up with {here[tag][:19]}")
        say(f"image {tag}: loaded ({sent >> 20} MiB)")


# --- files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    sent: int
    bytes: int
    removed: int
    unchanged: int


def _local_files(root: Path, paths: Iterable[str]) -> dict[str, str]:
    files: dict[str, str] = {}
    for relative in paths:
        base = root / relative
        candidates = [base] if base.is_file() else sorted(p for p in base.rglob("*")
                                                         if p.is_file())
        for path in candidates:
            files[path.relative_to(root).as_posix()] = hashlib.sha256(
                path.read_bytes()).hexdigest()
    return files


def _remote_files(connection: Connection, root: str, paths: Iterable[str]) -> dict[str, str]:
    quoted = " ".join(shlex.quote(p) for p in paths)
    result = connection.run(
        f"cd {shlex.quote(root)} 2>/dev/null && find {quoted} -type f -print0 2>/dev/null "
        "| xargs -0r sha256sum", hide=True, warn=True, in_stream=False)
    files: dict[str, str] = {}
    for line in result.stdout.splitlines():
        digest, _, name = line.partition("  ")
        if name:
            files[name] = digest
    return files


def sync_files(connection: Connection, local_root: Path, paths: list[str], remote_root: str,
               say: Say, private: Iterable[str] = ()) -> SyncResult:
    """Mirror `paths` (relative to both roots) to the host, sending only changed files
    as one tar stream over the SSH connection. `private` paths get mode 0700 dirs."""
    local = _local_files(local_root, paths)
    remote = _remote_files(connection, remote_root, paths)
    changed = sorted(name for name, digest in local.items() if remote.get(name) != digest)
    removed = sorted(set(remote) - set(local))
    total = sum((local_root / name).stat().st_size for name in changed)
    run = connection.run
    run(f"mkdir -p {shlex.quote(remote_root)}", hide=True, in_stream=False)
    for path in private:
        run(f"mkdir -p {shlex.quote(remote_root + '/' + path)} && "
            f"chmod 700 {shlex.quote(remote_root + '/' + path)}", hide=True, in_stream=False)
    if changed:
        say(f"{describe(connection)}: sending {len(changed)} changed files "
            f"({total / 2**20:.1f} MiB) to {remote_root}")
        _send_tar(connection, local_root, changed, remote_root, total, say)
    if removed:
        for start in range(0, len(removed), 200):
            batch = " ".join(shlex.quote(n) for n in removed[start:start + 200])
            run(f"cd {shlex.quote(remote_root)} && rm -f -- {batch}", hide=True,
                in_stream=False)
    return SyncResult(len(changed), total, len(removed), len(local) - len(changed))


class _ChannelWriter:
    """A file-like end of an SSH channel, for tarfile to stream into, showing progress."""

    def __init__(self, channel: paramiko.Channel, total: int, say: Say, label: str) -> None:
        self.channel, self.total, self.say, self.label = channel, total, say, label
        self.sent = self.shown = 0

    def write(self, data: bytes) -> int:
        self.channel.sendall(data)
        self.sent += len(data)
        if self.total > 8 * 2**20 and self.sent - self.shown >= self.total // 10:
            self.shown = self.sent
            self.say(f"{self.label}: {min(100, 100 * self.sent // self.total)}%")
        return len(data)


def _send_tar(connection: Connection, local_root: Path, names: list[str], remote_root: str,
              total: int, say: Say) -> None:
    """Stream the files as a tar archive into `tar -x` on the host (never all in memory)."""
    channel = open_channel(connection, f"tar -xf - -C {shlex.quote(remote_root)} "
                           "--no-same-owner")
    writer = _ChannelWriter(channel, total, say, describe(connection))
    with tarfile.open(fileobj=writer, mode="w|") as tar:  # type: ignore[call-overload]
        for name in names:
            tar.add(local_root / name, arcname=name, recursive=False)
    channel.shutdown_write()
    finish_channel(channel, connection, f"unpacking in {remote_root}")


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
        raise EngineError(f"{describe(connection)}: {what} failed (exit {status}): {errors}")


def fetch_missing_secrets(connection: Connection, stack: Stack, say: Say) -> None:
    """Secrets the server has but this checkout lacks are copied here, never regenerated:
    the server's database was initialised with them."""
    assert stack.mount_root is not None
    for secret in stack.secrets:
        local = stack.secret_path(secret.name)
        if local.exists():
            continue
        remote = f"{stack.mount_root}/{stack.secrets_dir()}/{secret.name}"
        result = connection.run(f"cat {shlex.quote(remote)}", hide=True, warn=True,
                                in_stream=False)
        if result.ok and result.stdout:
            local.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            local.write_text(result.stdout)
            local.chmod(0o644)
            say(f"secret {secret.name}: taken from {describe(connection)} (not regenerated)")


# --- preparing a host ---------------------------------------------------------------------


def bootstrap(connection: Connection, stack: Stack, say: Say, owner: str = "") -> None:
    """Install Docker (Debian's docker.io) and rsync, make the stack directory, and check
    that the host has the memory and disk the declared limits need."""
    open_connection(connection)
    where = describe(connection)
    root = connection.user == "root"
    sudo = "" if root else "sudo -n "
    probe = connection.run("command -v docker rsync; . /etc/os-release; echo \"$ID\"",
                           hide=True, warn=True, in_stream=False).stdout.split()
    if not {"debian", "ubuntu"} & set(probe):
        raise EngineError(f"{where}: server.bootstrap supports Debian and Ubuntu only")
    missing = [pkg for pkg, binary in (("docker.io", "docker"), ("rsync", "rsync"))
               if not any(p.endswith(f"/{binary}") for p in probe)]
    if missing:
        say(f"{where}: installing {' '.join(missing)} from the distribution's packages")
        connection.run(f"{sudo}env DEBIAN_FRONTEND=noninteractive apt-get update -q && "
                       f"{sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                       f"{' '.join(missing)}", in_stream=False)
    owner = owner or connection.user
    if owner != "root":
        connection.run(f"{sudo}usermod -aG docker {shlex.quote(owner)}", hide=True,
                       in_stream=False)
    directory = stack.mount_root or remote_dir(stack.project)
    connection.run(f"{sudo}mkdir -p {shlex.quote(directory)} && "
                   f"{sudo}chown {shlex.quote(owner)} {shlex.quote(directory)} && "
                   f"{sudo}chmod 750 {shlex.quote(directory)}", hide=True, in_stream=False)
    say(f"{where}: stack directory {directory}")
    memory_kib = int(connection.run("awk '/MemTotal/ {print $2}' /proc/meminfo", hide=True,
                                    in_stream=False).stdout.strip() or 0)
    disk_kib = int(connection.run("df -Pk / | awk 'NR==2 {print $4}'", hide=True,
                                  in_stream=False).stdout.strip() or 0)
    needed = sum(memory_bytes(s.limits.memory) for s in stack.services) // 1024
    say(f"{where}: memory {memory_kib // 1024} MiB, declared limits {needed // 1024} MiB; "
        f"free disk {disk_kib // 1024} MiB")
    problems = []
    if memory_kib and needed > memory_kib:
        problems.append(f"the services' memory limits ({needed // 1024} MiB) exceed the "
                        f"host's memory ({memory_kib // 1024} MiB): lower them in stack.py")
    if disk_kib and disk_kib < 2 * 1024 * 1024:
        problems.append(f"only {disk_kib // 1024} MiB free on /: images need about 2 GiB")
    if problems:
        raise EngineError(f"{where}: " + "; ".join(problems))
    say(f"{where}: ready (Docker {check_docker(connection)})")
