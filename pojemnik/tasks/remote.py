"""Tasks that only make sense on a host: `server.bootstrap` and `data.copy`."""

from __future__ import annotations

from invoke import Context, Exit, task

from ..console import say
from .context import engine_of, guard, remote_only, stack_of
from .lock import command_line, holding_lock


@task(help={"owner": "the user that deploys (default: the SSH user); joins group docker"})
def server_bootstrap(c: Context, owner: str = "") -> None:
    """Prepare a fresh Debian/Ubuntu host: Docker, the stack directory, a resource check."""
    from ..operations.server.bootstrap import bootstrap

    remote_only(c, "fab -H root@server server.bootstrap")
    stack = stack_of(c)
    guard(lambda: bootstrap(c, stack, say, owner, command_line(c)))


@task(help={
    "source": "the old host, user@host[:port] (same key and known_hosts as -H)",
    "path": "directory to copy from the old host",
    "to": "where to put it on this host (default: the same path)",
    "database": "also move this PostgreSQL database (pg_dump | pg_restore)",
    "service": "the new stack's database service (default: db)",
    "dry": "show what would change; change nothing",
    "delete": "also delete what exists only on this host under --to",
    "direct": "HOST[:PORT] this host reaches the old one at: rsync straight between them "
              "(your ssh-agent is forwarded for it); default: relay through this machine",
})
def data_copy(c: Context, source: str, path: str = "", to: str = "", database: str = "",
              service: str = "db", dry: bool = False, delete: bool = False,
              direct: str = "") -> None:
    """Copy the data from the previous installation: files, then a database; verified."""
    from fabric import Connection

    from ..operations.data.copy import (
        CopyRequest,
        copy_data,
        describe_database,
        describe_files,
    )

    remote_only(c, "fab -H root@new data.copy --source root@old --path /srv/data")
    stack = stack_of(c)
    request = CopyRequest(path, to, database, stack.container_name(service), dry, delete,
                          direct)
    if problems := request.problems():
        raise Exit("; ".join(problems), code=2)
    old = Connection(source, config=c.config, connect_kwargs=dict(c.connect_kwargs))
    with engine_of(c) as engine, holding_lock(c, engine, stack, not dry):
        files, db = guard(lambda: copy_data(c, old, lambda: engine, request, say))
    if files is not None:
        for line in describe_files(files, dry):
            say(line)
    if db is not None:
        say(describe_database(database, db))
