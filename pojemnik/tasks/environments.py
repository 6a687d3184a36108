"""Tasks across environments (`POJEMNIK_ENV`, docs/guides/environments.md): compare two."""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Context, Exit, task

from ..console import say
from .context import guard, print_table

if TYPE_CHECKING:
    from ..declaration.model import Stack
    from ..declaration.settings import Settings


def loaded(c: Context, name: str) -> tuple[str, Settings, Stack]:
    """The environment's (name, settings, stack); its problems refuse, as in any task."""
    from ..declaration.environments import VARIABLE
    from ..declaration.loader import load_with_settings
    from ..declaration.problems import InvalidStack

    environ = {**os.environ, VARIABLE: name}
    stack, problems, settings = guard(lambda: load_with_settings(
        Path(c.config.pojemnik.root), c.config.pojemnik.stack, environ))
    if problems:
        raise Exit(str(InvalidStack(problems)), code=2)
    return name, settings, stack


@task(help={"other": "the environment to compare with (`default`: the default one)",
            "base": "compare from this one (default: POJEMNIK_ENV's, else the default)",
            "format": "table (settings, then a unified diff) or json"})
def diff(c: Context, other: str, base: str | None = None, format: str = "table") -> None:
    """Compare two environments: settings that differ, and the services, networks and
    volumes they render to (a unified diff). Changes nothing."""
    from ..declaration.environments import chosen, from_option, shown
    from ..planning.environments import as_dict, environment_diff

    if format not in ("table", "json"):
        raise Exit(f"unknown --format {format!r}: use table or json", code=2)
    left = from_option(base) if base is not None else chosen(os.environ)
    result = environment_diff(loaded(c, left), loaded(c, from_option(other)))
    if format == "json":
        print(json.dumps(as_dict(result), indent=2))
        return
    if not result:
        say(f"{shown(result.left)} and {shown(result.right)}: the same declaration")
        return
    if result.settings:
        print_table(["setting", shown(result.left), "from", shown(result.right), "from"],
                    [[s.name, s.left, s.left_origin, s.right, s.right_origin]
                     for s in result.settings])
    for line in result.rendered:
        print(line)


@task(help={"database": "the PostgreSQL database to refresh (default: app)",
            "service": "the database service, in both environments (default: db)",
            "source": "the environment copied from (default: `default`, production)",
            "scrub": "SQL file run in the refreshed copy before it is swapped in "
                     "(default: the environment's POJEMNIK_REFRESH_SCRUB setting)",
            "no_scrub": "copy without scrubbing (nothing personal in the source)",
            "volume": "also copy this named volume (repeatable), verified, then swapped in",
            "no_database": "copy only the --volume ones, not the database",
            "overwrite_production": "allow refreshing the default environment itself"},
      iterable=["volume"])
def refresh(c: Context, database: str = "app", service: str = "db", source: str = "default",
            scrub: str = "", no_scrub: bool = False, volume: list[str] | None = None,
            no_database: bool = False, overwrite_production: bool = False) -> None:
    """Copy another environment's database (and --volume ones) into this one's
    (POJEMNIK_ENV's), verified, then scrubbed, then swapped in: staging from production,
    on one engine."""
    from ..declaration.environments import SCRUB, chosen, from_option
    from ..operations.data.copy import describe_database
    from ..operations.data.refresh import Refresh, refresh_database
    from ..operations.data.volume_refresh import refresh_volume
    from ..planning.environments import refresh_problems
    from .context import engine_of, require_declared
    from .lock import holding_lock

    into, origin = chosen(os.environ), from_option(source)
    if problems := refresh_problems(origin, into, overwrite_production):
        raise Exit(f"refused: {problems[0]}; nothing was changed", code=2)
    _, settings, target = loaded(c, into)
    _, _, production = loaded(c, origin)
    volumes = refreshed_volumes(target, volume or [], service, no_database)
    require_declared("service", [service], [s.name for s in target.services])
    sql = None if no_database else scrub_file(
        target.root, scrub or settings.values.get(SCRUB, ""), no_scrub, into)
    request = Refresh(production.container_name(service), target.container_name(service),
                      database, sql)
    with engine_of(c) as engine, holding_lock(c, engine, target):
        if not no_database:
            report = guard(lambda: refresh_database(engine, request, say))
            say(describe_database(database, report))
        for name in volumes:
            guard(partial(refresh_volume, engine, production, target, name, say))


def refreshed_volumes(stack: Stack, asked: list[str], service: str,
                      no_database: bool) -> list[str]:
    """The --volume ones, checked before anything runs: declared, not the database's own
    files (copied consistently by pg_dump, never as files of a running server)."""
    from ..operations.data.volume_refresh import users_of
    from .context import require_declared

    if no_database and not asked:
        raise Exit("refused: --no-database with no --volume copies nothing", code=2)
    require_declared("volume", asked, [v.name for v in stack.volumes])
    for name in asked:
        if stack.container_name(service) in users_of(stack, name):
            raise Exit(f"refused: volume {name} holds the files of the database service "
                       f"{service}; its database is refreshed with pg_dump (leave out "
                       f"--volume {name}); nothing was changed", code=2)
    return list(dict.fromkeys(asked))


def scrub_file(root: Path, named: str, no_scrub: bool, environment: str) -> Path | None:
    from ..declaration.environments import SCRUB, env_file

    if no_scrub:
        return None
    if not named:
        raise Exit(f"refused: no scrub declared; set {SCRUB}=path/to/scrub.sql in "
                   f"{env_file(environment) if environment else '.env'} (SQL that removes "
                   "personal data), pass --scrub FILE, or --no-scrub; nothing was changed",
                   code=2)
    path = root / named
    if not path.is_file():
        raise Exit(f"refused: scrub file {named} ({SCRUB} or --scrub) does not exist in "
                   f"{root}; nothing was changed", code=2)
    return path
