"""Configuration from `.env`, documented (and defaulted) by `.env.example`.

Precedence, lowest first: `.env.example` defaults, `.env`, `.env.NAME` of the environment
`POJEMNIK_ENV` names (`environments`), the process environment.
python-dotenv only warns about a line it cannot parse; here it is an error, since a
silently ignored line is a setting the user believes is in force.

Strict: reading a variable declared in neither `.env.example` nor `.env`
(`settings["X"]`, `settings.get("X")`, `settings.int("X")`) raises `UndeclaredSetting`,
which the loader reports naming the variable, instead of a silent "" that surfaces later
as a puzzling "project name ''". Only an explicit default (`settings.get("X", "a")`,
`settings.int("X", 80)`) reads an undeclared name leniently: from the environment, else
the default. Every value handed out is remembered with its variable and origin, so a
problem found later in that value names them (`Origin`). To report every undeclared read
at once, the loader runs `declare` once more `lenient` (see `_undeclared`).
"""

from __future__ import annotations

import contextlib
import io
import os
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dotenv.parser import parse_stream

from . import environments
from .origins import Origin, Unusable
from .problems import Problem
from .suggest import closest

_UNSET = object()
T = TypeVar("T")


class UndeclaredSetting(KeyError):
    """A setting read that neither `.env.example` nor `.env` declares."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return (f"setting {self.name} is not declared (in neither .env.example nor .env); "
                f"add {self.name}=<default> to .env.example")


@dataclass(frozen=True)
class Entry:
    name: str
    value: str
    line: int


def parse_env_file(path: Path) -> tuple[list[Entry], list[Problem]]:
    """Parse a dotenv file strictly: every line is a comment, blank, or NAME=value."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    if not path.exists():
        return entries, problems
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[:error.start].count(b"\n") + 1
        return entries, [Problem(f"{path.name}:{line}", f"not UTF-8 text ({error.reason} "
                                 f"at byte {error.start})",
                                 f"save {path.name} as UTF-8")]
    for binding in parse_stream(io.StringIO(text)):
        raw = binding.original.string
        # The parser folds leading blank lines (which may hold spaces or tabs) into the
        # next binding: count them back.
        line = binding.original.line + raw[: len(raw) - len(raw.lstrip())].count("\n")
        shown = raw.strip()
        if binding.error or (binding.key is not None and binding.value is None):
            problems.append(
                Problem(
                    where=f"{path.name}:{line}",
                    message=f"cannot parse {shown!r}",
                    fix="write NAME=value (quote values with spaces: NAME=\"a b\"); "
                    "start comments with #",
                )
            )
        elif binding.key is not None and binding.value is not None:
            entries.append(Entry(binding.key, binding.value, line))
    return entries, problems


@dataclass
class Settings:
    """Merged settings with where each value came from, for error messages."""

    values: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Each value handed out to the declaration -> the variables it came from.
    handed_out: dict[str, tuple[Origin, ...]] = field(default_factory=dict)
    # What the files hold, and every name the declaration asked for: a `.env` name that
    # nothing knows is a typo (`env_names`).
    example: list[Entry] = field(default_factory=list)
    local: list[Entry] = field(default_factory=list)
    asked: set[str] = field(default_factory=set)
    environment: str = ""  # POJEMNIK_ENV: "" is the default environment
    environment_entries: list[Entry] = field(default_factory=list)  # its `.env.NAME`
    # A bad environment name or a missing `.env.NAME`: nothing may run (`environments`).
    environment_problems: list[Problem] = field(default_factory=list)
    # Lenient: an undeclared read is recorded (with where it was made) and answered with
    # a stand-in, so the loader finds every such read in one run, not the first only.
    lenient: bool = False
    guessed: bool = True  # every undeclared read answered with a near setting's value
    undeclared: list[tuple[str, traceback.StackSummary]] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        settings = cls()
        example, example_problems = parse_env_file(root / ".env.example")
        local, local_problems = parse_env_file(root / ".env")
        settings.problems += example_problems + local_problems
        settings.example, settings.local = example, local
        for entry in example:
            settings._set(entry.name, entry.value, f".env.example:{entry.line}")
        for entry in local:
            settings._set(entry.name, entry.value, f".env:{entry.line}")
        settings._layer_environment(root, environ)
        for name in list(settings.values):
            if name in environ:
                settings._set(name, environ[name], "the environment")
        # Variables documented without a value in .env.example have no default: required.
        for entry in example:
            if entry.value == "" and settings.values.get(entry.name, "") == "":
                settings.problems.append(
                    Problem(
                        where=f".env.example:{entry.line}",
                        message=f"{entry.name} is required but not set",
                        fix=f"add {entry.name}=... to .env or export it in the environment",
                    )
                )
        settings._environ = environ
        return settings

    _environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    def _layer_environment(self, root: Path, environ: Mapping[str, str]) -> None:
        self.environment = environments.chosen(environ)
        self.environment_problems = environments.problems(root, self.environment)
        if not self.environment or self.environment_problems:
            return
        name = environments.env_file(self.environment)
        entries, problems = parse_env_file(root / name)
        self.problems += problems
        self.environment_entries = entries
        for entry in entries:
            self._set(entry.name, entry.value, f"{name}:{entry.line}")

    def _set(self, name: str, value: str, origin: str) -> None:
        self.values[name] = value
        self.origins[name] = origin

    def where(self, name: str) -> str:
        return self.origins.get(name, "the environment")

    def declared(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str, default: Any = _UNSET) -> str:
        """The value of a declared variable; an undeclared one raises
        `UndeclaredSetting`, unless a default is given (then: the environment, else it)."""
        self.asked.add(name)
        if name in self.values:
            return self._hand_out(name, self.values[name])
        if default is _UNSET:
            return self._undeclared(name, str, "")
        return self._environ.get(name, default)

    def __getitem__(self, name: str) -> str:
        return self.get(name)

    def int(self, name: str, default: int | None = None) -> int:
        """A whole number; a value that is not one is a problem naming its origin (and
        an `Unusable` stand-in, which checks of the field it fills skip)."""
        self.asked.add(name)
        if name not in self.values:
            if default is None:
                stand_in: int = Unusable(0)
                return self._undeclared(name, int, stand_in)
            raw = self._environ.get(name, str(default))
        else:
            raw = self.values[name]
        try:
            number = int(raw)
        except ValueError:
            documented = next((e.value for e in self.example if e.name == name
                               and e.value.strip().isdigit()), None)
            shown = default if default is not None else documented
            example = f", e.g. {name}={shown}" if shown is not None else ""
            self.problems.append(
                Problem(
                    where=f"{self.where(name)}",
                    message=f"{name}={raw!r} is not a whole number",
                    fix=f"set {name} to a number{example}",
                )
            )
            return Unusable(default if default is not None else 0)
        if name in self.values:
            self._hand_out(name, str(number))
        return number

    def _undeclared(self, name: str, convert: Callable[[str], T], fallback: T) -> T:
        """Strict: raise. Lenient: record the read, and answer with the value of the
        declared setting it is spelt like (what the user meant, so the rest of the
        declaration can be checked), else `fallback` (and the guess is off)."""
        if not self.lenient:
            raise UndeclaredSetting(name)
        self.undeclared.append((name, traceback.extract_stack()))
        near = closest(name, self.values)
        if near is not None:
            with contextlib.suppress(ValueError):
                return convert(self._hand_out(near, self.values[near]))
        self.guessed = False
        return fallback

    def _hand_out(self, name: str, value: str) -> str:
        origin = Origin(name, self.where(name))
        known = self.handed_out.setdefault(value, ())
        if origin not in known:
            self.handed_out[value] = (*known, origin)
        return value
