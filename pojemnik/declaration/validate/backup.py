"""Check the backup declaration: what it names must exist, what it keeps must be more
than nothing, and the repository must not lie inside what it backs up."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath

from ...agent.schedule import ScheduleError
from ...agent.schedule import parse as parse_schedule
from ..backup import Backup, Dump, Postgres
from ..model import Bind, Stack
from ..suggest import suggesting

Add = Callable[[str, str, str], None]
# restic's two forms: sftp:user@host:/path and sftp://user@host:port//path (absolute).
SFTP = re.compile(r"sftp:[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/\S*"
                  r"|sftp://[A-Za-z0-9._-]+@[A-Za-z0-9.-]+(:\d{1,5})?//\S*")
PART = re.compile(r"[a-z][a-z0-9_.-]{0,40}")


def check_backup(stack: Stack, add: Add) -> None:
    backup = stack.backup
    if backup is None:
        return
    if stack.target != "host":
        _swarm(stack, add)
        return
    if not backup.part_names():
        add("backup", "nothing to back up", "name dumps=[Postgres(\"db\", database=...)], "
            "volumes=[...] or binds=[...]")
    _dumps(stack, backup, add)
    _files(stack, backup, add)
    _keeping(stack, backup, add)
    _repository(stack, backup, add)


def _swarm(stack: Stack, add: Add) -> None:
    """On a Swarm the volumes live on whichever node runs the service, and the server's
    schedule (the agent) and the deploy lock are one host's: not supported (yet)."""
    add("backup", f"backups are not supported on the {stack.target!r} target: a Swarm "
        "service's volumes live on whichever node runs it, out of reach of one backup "
        "helper, and the schedule and the deploy lock are one host's",
        "declare backup= only when target is \"host\" (the example: `backup=... if "
        "target == \"host\" else None`), and back up a Swarm's database from outside it, "
        "e.g. `docker exec` pg_dump on the node that runs it (docs/guides/backups.md, "
        "\"Swarm\")")


def _service_named(stack: Stack, name: str, field: str, add: Add) -> bool:
    services = [s.name for s in stack.services]
    if name in services:
        return True
    add(field, f"no service {name!r} in the stack",
        suggesting(name, services, f"use one of {', '.join(services)}"))
    return False


def _dumps(stack: Stack, backup: Backup, add: Add) -> None:
    for index, dump in enumerate(backup.dumps):
        field = f"backup.dumps[{index}]"
        _service_named(stack, dump.service, f"{field}.service", add)
        if isinstance(dump, Postgres):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", dump.database):
                add(f"{field}.database", f"{dump.database!r} is not a PostgreSQL name",
                    "write the database's plain name, e.g. database=\"app\"")
        elif isinstance(dump, Dump):
            if not PART.fullmatch(dump.name):
                add(f"{field}.name", f"{dump.name!r} cannot name a part of a snapshot",
                    "use a-z, 0-9, '_', '.', '-', starting with a letter")
            if not dump.command:
                add(f"{field}.command", "no command", "give the command that prints the "
                    "dump, e.g. [\"mariadb-dump\", \"--single-transaction\", \"app\"]")
    names = backup.part_names()
    for name in sorted({n for n in names if names.count(n) > 1}):
        add("backup", f"{name!r} is backed up twice", "name each dump, volume and bind once")


def _files(stack: Stack, backup: Backup, add: Add) -> None:
    volumes = [v.name for v in stack.volumes]
    for index, volume in enumerate(backup.volumes):
        if volume not in volumes:
            add(f"backup.volumes[{index}]", f"the stack has no volume {volume!r}",
                suggesting(volume, volumes, f"use one of {', '.join(volumes) or '(none)'}, "
                           "or declare it in the Stack's volumes"))
    writable = sorted({str(PurePosixPath(m.source)) for s in stack.services for m in s.mounts
                       if isinstance(m, Bind) and not m.read_only})
    for index, bind in enumerate(backup.binds):
        if str(PurePosixPath(bind)) not in writable:
            add(f"backup.binds[{index}]", f"{bind!r} is not a writable bind of any service "
                "(read-only binds are the checkout's own files, kept by git)",
                f"use one of {', '.join(writable) or '(none declared)'}")


def _keeping(stack: Stack, backup: Backup, add: Add) -> None:
    kept = backup.retention
    counts = {"daily": kept.daily, "weekly": kept.weekly, "monthly": kept.monthly}
    for name, count in counts.items():
        if count < 0:
            add(f"backup.retention.{name}", f"{count} is negative", "write 0 or more")
    if all(count <= 0 for count in counts.values()):
        add("backup.retention", "retention keeps nothing", "keep at least one snapshot, e.g. "
            "Retention(daily=7, weekly=4, monthly=6)")
    try:
        parse_schedule(backup.schedule)
    except ScheduleError as error:
        add("backup.schedule", str(error).split(": use ")[0], "write e.g. \"daily\", "
            "\"30 3 * * *\" (cron's 5 fields) or \"every 6h\": the server's agent runs it")
    if backup.timeout <= 0:
        add("backup.timeout", f"{backup.timeout} seconds", "give a run at least a minute")
    if backup.password not in [s.name for s in stack.secrets]:
        add("backup.password", f"no secret {backup.password!r} in the stack: the repository's "
            "password is one of its secrets", f"add Secret({backup.password!r}) to the "
            "Stack's secrets (made on the host at the next deploy, never printed)")


def _repository(stack: Stack, backup: Backup, add: Add) -> None:
    repository = backup.repository_for(stack.project)
    if repository.startswith("sftp:"):
        if not SFTP.fullmatch(repository):
            add("backup.repository", f"{repository!r} is not an sftp repository",
                "write sftp:USER@HOST:/ABSOLUTE/PATH, or sftp://USER@HOST:PORT//ABSOLUTE/PATH")
        else:
            _sftp(stack, backup, add)
        return
    path = PurePosixPath(repository)
    if not path.is_absolute() or ".." in path.parts:
        add("backup.repository", f"{repository!r} is not an absolute path on the engine's "
            "host", "write e.g. /var/backups/pojemnik/PROJECT, or sftp:USER@HOST:/PATH")
        return
    for bind in backup.binds:
        inside = PurePosixPath(stack.host_path(bind))
        if path == inside or inside in path.parents:
            add("backup.repository", f"{repository} lies inside the backed-up bind {bind!r}: "
                "each backup would contain the previous ones", "put the repository "
                "elsewhere, e.g. /var/backups/pojemnik/PROJECT")
    if "volumes" in path.parts and "docker" in path.parts:
        add("backup.repository", f"{repository} lies inside Docker's volumes", "put the "
            "repository outside Docker's data, e.g. /var/backups/pojemnik/PROJECT")


def sftp_host(repository: str) -> tuple[str, str, int]:
    """(user, host, port) of a valid sftp repository."""
    found = re.match(r"sftp:(?://)?([^@]+)@([^:/]+)(?::(\d+)(?=//))?", repository)
    if found is None:
        raise ValueError(f"{repository!r} is not an sftp repository")
    return found[1], found[2], int(found[3] or 22)


def _sftp(stack: Stack, backup: Backup, add: Add) -> None:
    """The key restic logs in with, and the repository host's key it checks."""
    if not PART.fullmatch(backup.ssh_key):
        add("backup.ssh_key", f"{backup.ssh_key!r} cannot name a file in the secrets folder",
            "use a-z, 0-9, '_', '.', '-', e.g. \"backup_ssh_key\"")
    if backup.ssh_key in [s.name for s in stack.secrets]:
        add("backup.ssh_key", f"{backup.ssh_key!r} is a Secret of the stack: a deploy would "
            "fill it with a random value, not a key", "remove it from the Stack's secrets; "
            "`invoke backup.key` makes the key (docs/guides/backups.md)")
    _, host, port = sftp_host(backup.repository)
    wanted = host if port == 22 else f"[{host}]:{port}"
    lines = [line.split() for line in backup.known_hosts.splitlines() if line.strip()]
    if not lines:
        add("backup.known_hosts", f"no key of the repository host {wanted}: restic's ssh "
            "checks it and would refuse (or trust whatever answers)", "set it to the host's "
            f"key line, e.g. BACKUP_KNOWN_HOSTS=\"{wanted} ssh-ed25519 AAAA...\" (from "
            "/etc/ssh/ssh_host_ed25519_key.pub there, read over a path you trust)")
        return
    for number, words in enumerate(lines, 1):
        if len(words) < 3 or not words[1].startswith(("ssh-", "ecdsa-", "sk-")):
            add("backup.known_hosts", f"line {number} is not a known_hosts line",
                f"write \"{wanted} ssh-ed25519 AAAA...\": the host, the key type, the key")
            return
    if not any(wanted in words[0].split(",") for words in lines):
        add("backup.known_hosts", f"no line for {wanted}, the repository's host",
            f"begin the host's key line with {wanted} (as ssh writes it to known_hosts)")
