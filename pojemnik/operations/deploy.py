"""`deploy` on this machine or on a host over SSH: converge, with the host's secrets and
files handled on the host when the engine is remote."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..console import Say
from ..declaration.model import Stack
from ..declaration.problems import Problem
from ..engine.backend import Engine
from ..planning.plan import Options
from .converge import Outcome, Target, converge

if TYPE_CHECKING:
    from fabric import Connection

    from ..ssh.mirror import SyncResult


def deploy(stack: Stack, engine: Engine, options: Options, say: Say, dry: bool = False,
           problems: list[Problem] | None = None, host: Connection | None = None,
           verbose: bool = False) -> Outcome:
    target = remote_target(host, stack, say, dry) if host else Target()
    return converge(stack, engine, options, say, dry=dry, extra_problems=problems,
                    target=replace(target, verbose=verbose))


def remote_target(host: Connection, stack: Stack, say: Say, dry: bool = False) -> Target:
    from .secrets import HostSecrets, report_local_copies
    from .upstreams import RemoteFiles

    secrets = HostSecrets(host)
    if not dry:
        report_local_copies(stack, secrets, say)
    return Target(secrets=secrets, shipment=Mirror(host, stack, say),
                  files=RemoteFiles(host))


@dataclass
class Mirror:
    """The stack's config files mirrored into its directory on the host; data
    directories (writable binds) created there when missing, never overwritten."""

    host: Connection
    stack: Stack
    say: Say
    last: SyncResult | None = None

    def ship(self) -> None:
        from ..ssh.mirror import seed_missing, sync_files

        root = self.stack.mount_root
        assert root is not None
        self.last = sync_files(self.host, self.stack.root, self.stack.config_paths(), root,
                               self.say)
        result = self.last
        self.say(f"files: {result.sent} sent ({result.bytes} bytes), {result.removed} "
                 f"removed, {result.unchanged} unchanged")
        for path in seed_missing(self.host, self.stack.root, self.stack.data_paths(), root,
                                 self.say):
            self.say(f"files: data directory {path} made on the host (kept from now on)")

    def restore(self) -> None:
        from ..ssh.mirror import restore

        if self.last is not None and self.stack.mount_root is not None:
            restore(self.host, self.stack.mount_root, self.last)
