"""What the stack backs up, where to, how long it is kept and when it runs: data, like
the rest of the declaration (`Stack(backup=Backup(...))`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# The repository when none is declared: on the engine's host, beside nothing it backs up.
DEFAULT_REPOSITORY = "/var/backups/pojemnik/{project}"


@dataclass(frozen=True)
class Postgres:
    """A PostgreSQL database dumped with `pg_dump -Fc` inside the service's container
    (one consistent snapshot of the database), restored with `pg_restore`."""

    service: str
    database: str
    user: str = "postgres"  # the role that dumps and restores, over the unix socket
    socket: str = "/run/postgresql"

    @property
    def name(self) -> str:
        return self.service


@dataclass(frozen=True)
class Dump:
    """A user's own dump: `command` prints it on standard output inside the service's
    container (e.g. `mariadb-dump --single-transaction`), `restore` reads it back on
    standard input."""

    name: str
    service: str
    command: Sequence[str]
    restore: Sequence[str] = ()


@dataclass(frozen=True)
class Retention:
    """Snapshots kept: the newest of each of the last N days, weeks and months."""

    daily: int = 7
    weekly: int = 4
    monthly: int = 6


@dataclass(frozen=True)
class Backup:
    """What to back up (dumps, named volumes, writable binds) into a restic repository:
    a path on the engine's host, or `sftp:user@host:/path` on another host."""

    dumps: Sequence[Postgres | Dump] = ()
    volumes: Sequence[str] = ()  # declared volume names
    binds: Sequence[str] = ()  # repository paths some service mounts writable
    repository: str = ""  # "": DEFAULT_REPOSITORY
    password: str = "backup_password"  # a Secret of the stack: the repository's key
    retention: Retention = field(default_factory=Retention)
    schedule: str = "daily"  # the server's agent: "daily", "30 3 * * *", "every 6h"
    timeout: int = 3600  # seconds a run may take
    # sftp: the key restic logs in with, a file in the stack's secrets folder on the
    # engine's host made there by `invoke backup.key` (never sent, never printed), and
    # the repository host's key lines ("HOST ssh-ed25519 AAAA...", as in known_hosts).
    ssh_key: str = "backup_ssh_key"
    known_hosts: str = ""

    def repository_for(self, project: str) -> str:
        return self.repository or DEFAULT_REPOSITORY.format(project=project)

    @property
    def sftp(self) -> bool:
        return self.repository.startswith("sftp:")

    def part_names(self) -> list[str]:
        return [d.name for d in self.dumps] + list(self.volumes) + list(self.binds)
