"""Names in `.env` that nothing reads: a typo (`HTPP_PORT=38081`) would otherwise be
accepted silently while the default stays in force.

Known are the names `.env.example` documents, those the declaration asked for, and
those the stack file spells out as a string (a setting read only on one target, say).
Only the `.env` file's names are checked: the process environment holds many others.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from .environments import OWN_SETTINGS
from .problems import Problem
from .settings import Settings
from .suggest import closest, suggesting

SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SHOUTED = re.compile(r"^[A-Z][A-Z0-9_]*$")  # how settings are spelt: suggested


def spelt_in(source: Path) -> set[str]:
    """Every string in the stack file that could be a setting's name."""
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return set()
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and SETTING_NAME.match(node.value)}


def unknown_names(settings: Settings, source: Path) -> list[Problem]:
    """One problem per `.env` line whose name nothing knows, with the closest known name."""
    documented = [entry.name for entry in settings.example]
    spelt = spelt_in(source)
    known = {*documented, *settings.asked, *spelt, *OWN_SETTINGS}
    # Suggested: names that are settings, not every string of the stack file ('db').
    near = [*documented, *sorted({*settings.asked, *filter(SHOUTED.match, spelt)}
                                 - set(documented))]
    problems = []
    files = [(".env", e) for e in settings.local]
    files += [(f".env.{settings.environment}", e) for e in settings.environment_entries]
    for file, entry in files:
        if entry.name in known:
            continue
        problems.append(Problem(
            f"{file}:{entry.line}",
            f"{entry.name} is a setting neither .env.example nor {source.name} knows, so it "
            "changes nothing",
            suggesting(entry.name, near,
                       f"remove the line; or, if {source.name} is to read it, document "
                       f"{entry.name}=<default> in .env.example", quote=False)))
    return problems


def undeclared_problem(name: str, settings: Settings, where: str, stack_file: str) -> Problem:
    """The stack file read a setting no file declares: the closest declared one first
    (`HTTPS_PROT` -> HTTPS_PORT), then how to add it."""
    add = (f"add {name}=<default> to .env.example (documenting it), and set it in .env; "
           f"or read it with settings.get({name!r}, default)")
    near = closest(name, settings.values)
    fix = (f"did you mean {near} ({settings.where(near)})? Then read {near!r} in "
           f"{stack_file}. If not: {add}" if near is not None else add)
    return Problem(where, f"setting {name} is not declared (in neither .env.example nor .env)",
                   fix)
