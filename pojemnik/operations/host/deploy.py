"""`deploy` on this machine or on a host over SSH: converge, with the host's secrets and
files handled on the host when the engine is remote."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ...console import Say
from ...declaration.model import Stack
from ...declaration.problems import Problem
from ...engine.backend import Engine
from ...planning.plan import Options
from ...planning.state import FilesDiff
from .converge import HostSite, Outcome, converge

if TYPE_CHECKING:
    from fabric import Connection

    from ...ssh.mirror import SyncResult


def deploy(stack: Stack, engine: Engine, options: Options, say: Say, dry: bool = False,
           problems: list[Problem] | None = None, host: Connection | None = None,
           verbose: bool = False) -> Outcome:
    site = remote_site(host, stack, say, dry) if host else HostSite()
    outcome = converge(stack, engine, options, say, dry=dry, extra_problems=problems,
                       site=replace(site, verbose=verbose))
    if stack.tls is not None and stack.tls.ordered():
        from ..tls.certificate import ensure, planned

        if dry:
            say(planned(stack, engine) or "")
        else:
            ensure(stack, engine, say)  # never fails the deploy: it says what went wrong
    return outcome


def remote_site(host: Connection, stack: Stack, say: Say, dry: bool = False) -> HostSite:
    from ...hostfiles.files import RemoteFiles
    from ...hostfiles.secrets import HostSecrets, report_local_copies

    secrets = HostSecrets(host)
    if not dry:
        report_local_copies(stack, secrets, say)
    return HostSite(secrets=secrets, shipment=Mirror(host, stack, say),
                  files=RemoteFiles(host))


@dataclass
class Mirror:
    """The stack's config files mirrored into its directory on the host; data
    directories (writable binds, also those inside a mirrored directory) created there
    when missing, never overwritten or pruned."""

    host: Connection
    stack: Stack
    say: Say
    last: SyncResult | None = None

    def diff(self) -> FilesDiff:
        """What `ship` would do, by comparing digests: nothing is changed."""
        from ...ssh.mirror import compare, missing

        root = self.root()
        found = compare(self.host, self.stack.root, self.stack.config_paths(), root,
                        self.stack.data_paths())
        return FilesDiff(root, tuple(found.changed), tuple(found.removed),
                         tuple(missing(self.host, root, self.stack.data_paths())))

    def ship(self) -> None:
        from ...ssh.mirror import seed_missing, sync_files

        root = self.root()
        self.last = sync_files(self.host, self.stack.root, self.stack.config_paths(), root,
                               self.say, exclude=self.stack.data_paths())
        result = self.last
        self.say(f"files: {result.sent} sent ({result.bytes} bytes), {result.removed} "
                 f"removed, {result.unchanged} unchanged")
        for path in seed_missing(self.host, self.stack.root, self.stack.data_paths(), root,
                                 self.say):
            self.say(f"files: data directory {path} made on the host (kept from now on)")

    def restore(self) -> bool:
        from ...ssh.mirror import restore

        return self.last is not None and restore(self.host, self.root(), self.last)

    def root(self) -> str:
        assert self.stack.mount_root is not None  # a remote stack's directory on the host
        return self.stack.mount_root
