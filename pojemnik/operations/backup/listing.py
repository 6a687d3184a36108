"""`backup.list`: the complete backups (those with a manifest), newest first."""

from __future__ import annotations

from ...console import Say
from ...declaration.model import Stack
from ...engine.backend import Engine
from ...planning import backup as b
from ._helper import helper
from .run import declared_backup, ensure_listable, manifests


def complete_backups(engine: Engine, stack: Stack, say: Say) -> list[b.Manifest]:
    backup = declared_backup(stack)
    with helper(engine, stack, backup, say, []) as h:
        ensure_listable(h)
        return sorted(manifests(h), key=lambda m: m.time, reverse=True)
