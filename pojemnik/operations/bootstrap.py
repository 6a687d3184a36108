"""`server.bootstrap`: a fresh Debian/Ubuntu host made ready for the stack."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from ..console import Say
from ..declaration.model import Stack
from ..declaration.units import memory_bytes
from ..engine.over_ssh import check_docker
from ..errors import OperationError
from ..ssh.connection import describe, open_connection
from .healing import install as install_healing
from .remote_layout import remote_dir

if TYPE_CHECKING:
    from fabric import Connection


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
        raise OperationError(f"{where}: server.bootstrap supports Debian and Ubuntu only")
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
        raise OperationError(f"{where}: " + "; ".join(problems))
    install_healing(connection, say)
    say(f"{where}: ready (Docker {check_docker(connection)})")
