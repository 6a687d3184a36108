"""What every task needs from its invocation: the stack, the engine, and errors turned
into one clear message with a non-zero exit (never a traceback).

`fab -H host` hands tasks a Fabric Connection, `invoke` a plain Context: the same task
runs locally or on the host. Heavy modules (Docker SDK, paramiko) are imported only when
a task runs, so `invoke --list` stays instant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from invoke import Context, Exit

from ..console import say
from ..declaration.loader import load_stack
from ..declaration.model import Stack
from ..declaration.problems import InvalidStack, Problem
from ..declaration.validate.stack import check_declaration, project_problems
from ..errors import PojemnikError

if TYPE_CHECKING:
    from ..engine.backend import Engine
    from ..hostfiles.files import HostFiles
    from ..operations.target import Target

T = TypeVar("T")


def is_remote(c: Context) -> bool:
    return getattr(c, "host", None) is not None


def guard(work: Callable[[], T]) -> T:
    """Run `work`; pojemnik's errors become a message and an exit code (2: bad input)."""
    try:
        return work()
    except InvalidStack as error:
        raise Exit(str(error), code=2) from error
    except PojemnikError as error:
        raise Exit(f"error: {error}", code=1) from error


def declared(c: Context) -> tuple[Stack, list[Problem]]:
    """The stack and the settings' problems (for tasks that report them with the rest)."""
    stack, problems = guard(lambda: load_stack(Path(c.config.pojemnik.root),
                                               c.config.pojemnik.stack))
    # The name makes paths on a host (`/srv/pojemnik/<project>`): every task refuses a bad
    # one first, also those that never validate the rest (`server.bootstrap`, `ps`).
    if project_problems(stack):
        # With the rest of the declaration's problems (pure: nothing is touched), so
        # they are all fixed in one go.
        raise Exit(str(InvalidStack([*problems, *check_declaration(stack)])), code=2)
    if is_remote(c):
        from ..hostfiles.layout import remote_dir

        stack = replace(stack, mount_root=remote_dir(stack.project))
    return stack, problems


def stack_of(c: Context) -> Stack:
    """The stack, refusing on any problem in `.env`: a task that ignored one could act on
    another project (a typo in POJEMNIK_PROJECT) or with the wrong values."""
    stack, problems = declared(c)
    if problems:
        raise Exit(str(InvalidStack(problems)), code=2)
    return stack


@contextmanager
def engine_of(c: Context) -> Iterator[Engine]:
    """The engine the task acts on: this machine's, or the host's over SSH."""
    def connect() -> Engine:
        if is_remote(c):
            from ..engine.over_ssh import connect_over_ssh

            return connect_over_ssh(c, say)
        from ..engine.local import connect_local

        return connect_local(c.config.pojemnik.get("docker_host"))

    engine = guard(connect)
    try:
        yield engine
    finally:
        engine.close()


@contextmanager
def target_of(c: Context, stack: Stack, verbose: bool = False,
              one_host: bool = False) -> Iterator[Target]:
    """The stack's target (`operations.target`) on the task's engine; over SSH, a Swarm's
    images are built with this machine's engine (connected when first needed)."""
    from ..operations.target import target_for

    def build() -> Engine:
        from ..engine.local import connect_local

        return guard(lambda: connect_local(c.config.pojemnik.get("docker_host")))

    with engine_of(c) as engine:
        target = target_for(stack, engine, say, c if is_remote(c) else None, build, verbose,
                            one_host)
        try:
            yield target
        finally:
            target.close()


def host_files(c: Context) -> HostFiles:
    """pojemnik's own files on the engine's host: here, or on the host over SSH."""
    from ..hostfiles.files import LocalFiles, RemoteFiles

    return RemoteFiles(c) if is_remote(c) else LocalFiles()


def remote_only(c: Context, usage: str) -> None:
    """Tasks that act on a host only: say how to call them."""
    if not is_remote(c):
        raise Exit(f"this task runs on a remote host: {usage}", code=2)


def require_declared(kind: str, names: Iterable[str], known: list[str]) -> None:
    """A name given on the command line that the stack does not declare: say which exist."""
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise Exit(f"unknown {kind} {unknown[0]!r}; declared: {', '.join(known)}", code=2)


def names(value: str | None) -> frozenset[str] | None:
    return frozenset(n.strip() for n in value.split(",") if n.strip()) if value else None


def print_table(header: list[str], rows: list[list[str]]) -> None:
    from ..console import table_lines

    for line in table_lines(header, rows):
        say(line)


def render_plan(plan: Any, fmt: str, stack: Stack) -> str:
    from types import ModuleType

    from ..operations.images.base import BaseRecipe
    from ..planning import render
    from ..planning.plan import Plan

    shown: ModuleType = render
    if not isinstance(plan, Plan):  # a Swarm plan has the same three renderings
        from ..planning.swarm import render as swarm_render

        shown = swarm_render
    if fmt == "json":
        return str(shown.as_json(plan))
    if fmt == "bash":
        return str(shown.bash(plan, BaseRecipe.for_ref(stack.base_image).shell()))
    if fmt == "table":
        return str(shown.table(plan))
    raise Exit(f"unknown --format {fmt!r}: use table, json or bash", code=2)
