"""Read a repository's declaration: `declare(settings)` from its stack file, with `.env`."""

from __future__ import annotations

import contextlib
import importlib.util
import traceback
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from .env_names import undeclared_problem, unknown_names
from .environments import namespaced
from .model import Stack
from .problems import InvalidStack, Problem
from .settings import Settings, UndeclaredSetting
from .validate.stack import check_declaration


def load_stack(root: Path, stack_file: str = "stack.py") -> tuple[Stack, list[Problem]]:
    stack, problems, _ = load_with_settings(root, stack_file)
    return stack, problems


def load_with_settings(root: Path, stack_file: str = "stack.py",
                       environ: Mapping[str, str] | None = None
                       ) -> tuple[Stack, list[Problem], Settings]:
    """Import `declare(settings)` from the stack file and call it with the merged settings.

    A stack file that cannot be imported, or whose `declare` fails, is a problem naming
    the file and line, not a traceback."""
    path = root / stack_file
    if not path.is_file():
        raise InvalidStack([Problem(
            str(path), "no stack declaration here",
            f"run the tasks in a project's directory, or write {stack_file} with "
            "def declare(settings) -> Stack (`pojemnik init --list-templates` shows "
            "working ones to start from)")])
    settings = Settings.load(root, environ)
    if settings.environment_problems:
        raise InvalidStack(settings.environment_problems)
    try:
        spec = importlib.util.spec_from_file_location(f"pojemnik_stack_{abs(hash(path))}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        declare = getattr(module, "declare", None)
        if not callable(declare):
            raise InvalidStack([Problem(stack_file, "no declare(settings) function",
                                        "define def declare(settings) -> Stack")])
        stack = declare(settings)
    except SyntaxError as error:
        raise InvalidStack([Problem(f"{stack_file}:{error.lineno}",
                                    f"syntax error: {error.msg}",
                                    "fix the Python syntax there")]) from error
    except InvalidStack:
        raise
    except UndeclaredSetting as error:
        reads, guess = _undeclared_reads(declare, settings, path, error)
        raise InvalidStack([*settings.problems, *unknown_names(settings, path),
                            *(undeclared_problem(name, settings, f"{stack_file}:{line}",
                                                 stack_file) for name, line in reads),
                            *(check_declaration(guess) if guess is not None else [])]
                           ) from error
    except Exception as error:
        # The settings' problems too: a bad value may be why declare() failed.
        raise InvalidStack([*settings.problems,
                            Problem(f"{stack_file}:{_line_in(error, path)}",
                                    f"declare() failed: {type(error).__name__}: {error}",
                                    "fix the declaration there")]) from error
    if not isinstance(stack, Stack):
        raise InvalidStack([Problem(stack_file, f"declare() returned {type(stack).__name__}",
                                    "return a pojemnik.Stack")])
    problems = [*settings.problems, *unknown_names(settings, path)]
    # An environment's own namespace: its objects, secrets, lock and records.
    return replace(stack, project=namespaced(stack.project, settings.environment),
                   origins=dict(settings.handed_out)), problems, settings


def _undeclared_reads(declare: object, settings: Settings, path: Path,
                      first: UndeclaredSetting) -> tuple[list[tuple[str, int | str]], Stack | None]:
    """Every undeclared read, not the first only: declare() runs once more, each such read
    answered with the value of the declared setting it is spelt like. When every one was,
    the stack it returns is checked too (the rest of its problems, in the same pass)."""
    reads: list[tuple[str, int | str]] = [(first.name, _line_in(first, path))]
    settings.lenient = True
    guess = None
    # A stand-in it could not use ends the run: the reads found so far stand.
    with contextlib.suppress(Exception):
        if callable(declare):
            guess = declare(settings)
    settings.lenient = False
    for name, frames in settings.undeclared:
        lines = [f.lineno for f in frames if Path(f.filename) == path and f.lineno is not None]
        read = (name, lines[-1] if lines else "?")
        if read not in reads:
            reads.append(read)
    if not isinstance(guess, Stack) or not settings.guessed:
        return reads, None
    return reads, replace(guess, origins=dict(settings.handed_out))


def _line_in(error: BaseException, path: Path) -> int | str:
    """The innermost line of the stack file in the error's traceback."""
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
             if Path(frame.filename) == path]
    return lines[-1] if lines and lines[-1] is not None else "?"
