"""`server.bootstrap`: a fresh Debian/Ubuntu host made ready for the stack."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ...console import Say
from ...declaration.model import Stack
from ...declaration.units import memory_bytes
from ...engine.over_ssh import check_docker, connect_over_ssh
from ...errors import DockerError, OperationError
from ...hostfiles.layout import remote_dir
from ...ssh.connection import describe, open_connection
from ..lock import take_lock_if_any
from .healing import install as install_healing

if TYPE_CHECKING:
    from fabric import Connection


def bootstrap(connection: Connection, stack: Stack, say: Say, owner: str = "",
              command: str = "fab server.bootstrap") -> None:
    """Install Docker (Debian's docker.io) and rsync, make the stack directory, and check
    that the host has the memory and disk the declared limits need. On a host that has
    Docker already, under the project's lock: a deploy there is not changed under."""
    open_connection(connection)
    where = describe(connection)
    sudo = "" if connection.user == "root" else "sudo -n "
    probe = connection.run("command -v docker rsync; . /etc/os-release; echo \"$ID\"",
                           hide=True, warn=True, in_stream=False).stdout.split()
    if not {"debian", "ubuntu"} & set(probe):
        raise OperationError(f"{where}: server.bootstrap supports Debian and Ubuntu only")
    installed = {binary for binary in ("docker", "rsync")
                 if any(p.endswith(f"/{binary}") for p in probe)}
    with _locked(connection, stack, say, command, "docker" in installed):
        missing = [pkg for pkg, binary in (("docker.io", "docker"), ("rsync", "rsync"))
                   if binary not in installed]
        if missing:
            say(f"{where}: installing {' '.join(missing)} from the distribution's packages")
            connection.run(f"{sudo}env DEBIAN_FRONTEND=noninteractive apt-get update -q && "
                           f"{sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                           f"{' '.join(missing)}", in_stream=False)
        _prepare(connection, stack, say, owner, sudo)


@contextmanager
def _locked(connection: Connection, stack: Stack, say: Say, command: str,
            has_docker: bool) -> Iterator[None]:
    """The project's lock on the host's engine. A host without Docker yet runs nothing of
    the project: there is nothing to lock (and no engine to lock on). Nor is there when
    the engine does not answer this user: said, and the bootstrap goes on."""
    if not has_docker:
        yield
        return
    try:
        engine = connect_over_ssh(connection, say)
    except DockerError as error:
        say(f"{describe(connection)}: going on without the project's lock: {error}")
        yield
        return
    try:
        held = take_lock_if_any(engine, stack, say, command)
        try:
            yield
        finally:
            held.release()
    finally:
        engine.close()


def _prepare(connection: Connection, stack: Stack, say: Say, owner: str, sudo: str) -> None:
    """The deploying user, the stack directory, the resource check, self-healing."""
    where = describe(connection)
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
        raise OperationError(f"{where}: " + "; ".join(problems))
    install_healing(connection, say)
    say(f"{where}: ready (Docker {check_docker(connection)})")
