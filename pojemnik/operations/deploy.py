"""`deploy` on this machine or on a host over SSH: converge, with the host's files and
secrets in place first when the engine is remote."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..console import Say
from ..declaration.model import Stack
from ..declaration.problems import Problem
from ..engine.backend import Engine
from ..planning.plan import Options
from .converge import Outcome, converge

if TYPE_CHECKING:
    from fabric import Connection


def deploy(stack: Stack, engine: Engine, options: Options, say: Say, dry: bool = False,
           problems: list[Problem] | None = None,
           host: Connection | None = None) -> Outcome:
    ship = None
    if host is not None and not dry:
        from .secrets import fetch_missing_secrets

        # A new checkout must not mint new passwords for a server's existing database.
        fetch_missing_secrets(host, stack, say)
        ship = _shipper(host, stack, say)
    return converge(stack, engine, options, say, dry=dry, extra_problems=problems,
                    ship_files=ship)


def _shipper(host: Connection, stack: Stack, say: Say) -> Callable[[], None]:
    """Mirror the mounted files (and secrets) into the stack's directory on the host."""
    def ship() -> None:
        from ..ssh.mirror import sync_files

        assert stack.mount_root is not None
        result = sync_files(host, stack.root, [*stack.mounted_paths(), stack.secrets_dir()],
                            stack.mount_root, say, private=[".secrets"])
        say(f"files: {result.sent} sent ({result.bytes} bytes), {result.removed} removed, "
            f"{result.unchanged} unchanged")
    return ship
