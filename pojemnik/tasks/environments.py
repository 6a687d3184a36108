"""Tasks across environments (`POJEMNIK_ENV`, docs/guides/environments.md): compare two."""

from __future__ import annotations

import json
import os
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
