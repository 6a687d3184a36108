"""Environments: more than one copy of a stack from one declaration (staging beside
production).

`POJEMNIK_ENV=NAME` chooses one. Its settings are `.env.NAME` layered over `.env` and
`.env.example` (the process environment still wins); its project, the namespace of every
Docker object, secret, lock and local record, is `<project>-NAME`. Unset or empty: the
default environment, exactly as without environments (project `<project>`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from .problems import Problem

VARIABLE = "POJEMNIK_ENV"
# A fragment of Docker names (`<project>-NAME-<service>`), and of a file name: short.
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")
DEFAULT = ""  # the default environment: production, for a refresh
DEFAULT_NAME = "default"  # how tasks' options name it
# Read by pojemnik from an environment's settings, not by the stack file: known names.
SCRUB = "POJEMNIK_REFRESH_SCRUB"  # the SQL `data.refresh` runs in the refreshed copy
HOSTS = "POJEMNIK_HOSTS"  # where `fab TASK` runs without -H: the environment's servers
OWN_SETTINGS = frozenset({SCRUB, HOSTS})


def from_option(name: str) -> str:
    """An environment named on the command line: `default` is the default one."""
    name = name.strip()
    return DEFAULT if name == DEFAULT_NAME else name


def chosen(environ: Mapping[str, str]) -> str:
    """The environment the process asks for ("" : the default one)."""
    return environ.get("POJEMNIK_ENV", "").strip()  # VARIABLE


def env_file(name: str) -> str:
    return f".env.{name}"


def namespaced(project: str, environment: str) -> str:
    """The environment's project: every object it owns is named and labelled with it."""
    return f"{project}-{environment}" if environment else project


def shown(environment: str) -> str:
    return environment or "the default environment"


def problems(root: Path, name: str) -> list[Problem]:
    """A name that cannot be part of Docker names, or a named environment with no file:
    refused before anything else, so no task acts on another environment instead."""
    if not name:
        return []
    if name == DEFAULT_NAME:
        return [Problem(VARIABLE, f"{name!r} is the default environment's name on the "
                        "command line, not a named environment",
                        f"unset {VARIABLE} for the default environment, or choose "
                        "another name (e.g. staging)")]
    if not NAME.match(name):
        return [Problem(VARIABLE, f"environment name {name!r} cannot be part of Docker "
                        "object names",
                        f"set {VARIABLE} to lowercase letters, digits, '-' or '_', starting "
                        "with a letter or digit, at most 20 characters (e.g. staging)")]
    if not (root / env_file(name)).is_file():
        return [Problem(f"{VARIABLE}={name}", f"{env_file(name)} does not exist in {root}",
                        f"write {env_file(name)} with the settings that differ in {name} "
                        "(ports, subnets: see docs/guides/environments.md), or unset "
                        f"{VARIABLE} for the default environment")]
    return []
