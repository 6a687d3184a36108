"""The stack's secrets: random values in files on the engine's host, made once there and
never replaced, printed or sent anywhere.

Locally they live in the checkout (`.secrets/<project>/`, git-ignored). On a remote host
they are made on and kept by that host (`<stack dir>/.secrets/<project>/`): a checkout
never sends its own, so two hosts never share a password and a laptop that once deployed
locally cannot replace a server's.
"""

from __future__ import annotations

import math
import secrets
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..console import Say
from ..declaration.model import Stack
from ..planning.spec import SecretSpec, secret_spec

if TYPE_CHECKING:
    from fabric import Connection


class SecretStore(Protocol):
    def present(self, specs: list[SecretSpec]) -> list[str]:
        """Names of the secrets that already exist."""
        ...

    def create(self, spec: SecretSpec, say: Say) -> None:
        """Make the secret unless it exists: an existing one is never replaced."""
        ...

    def digests(self, specs: list[SecretSpec]) -> dict[str, str]:
        """sha256 of each existing secret's value (a Swarm secret's name carries it)."""
        ...

    def read(self, spec: SecretSpec) -> bytes:
        """The value, to hand to the Swarm manager; never printed."""
        ...


class LocalSecrets:
    def present(self, specs: list[SecretSpec]) -> list[str]:
        """An empty file (written on a full disk) holds no secret: made again."""
        return [s.name for s in specs if Path(s.path).is_file() and Path(s.path).stat().st_size]

    def create(self, spec: SecretSpec, say: Say) -> None:
        write_secret(spec, say)

    def digests(self, specs: list[SecretSpec]) -> dict[str, str]:
        import hashlib

        return {s.name: hashlib.sha256(Path(s.path).read_bytes()).hexdigest()
                for s in specs if Path(s.path).is_file()}

    def read(self, spec: SecretSpec) -> bytes:
        return Path(spec.path).read_bytes()


def write_secret(spec: SecretSpec, say: Say) -> None:
    """A random value in a file only root on the host can reach (the folder is 0700);
    the file itself is world-readable so the non-root user inside the container can
    read its bind mount."""
    path = Path(spec.path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.parent.chmod(0o700)
    empty = path.is_file() and path.stat().st_size == 0
    if path.exists() and not empty:
        return
    # Written aside, then renamed into place: a full disk leaves no empty secret behind.
    incoming = path.with_name(f".{path.name}.incoming")
    incoming.unlink(missing_ok=True)
    incoming.write_text(secrets.token_urlsafe(spec.length))
    incoming.chmod(0o644)
    incoming.replace(path)
    say(f"secret {spec.name}: generated in {path}" + (EMPTY_NOTE if empty else ""))


# What a new value means when the old file was empty: the old value is lost either way.
EMPTY_NOTE = (" (its file was empty, e.g. written on a full disk: a service that kept the "
              "lost value, such as a database's password, needs the new one set)")


def write_all(stack: Stack, say: Say) -> None:
    for secret in stack.secrets:
        write_secret(secret_spec(stack, secret), say)


class HostSecrets:
    """Secrets made on the remote host itself, from its own random source."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def present(self, specs: list[SecretSpec]) -> list[str]:
        found = []
        for spec in specs:  # an empty file (a full disk) holds no secret: made again
            if self.connection.run(f"test -f {shlex.quote(spec.path)} && "
                                   f"test -s {shlex.quote(spec.path)}", hide=True,
                                   warn=True, in_stream=False).ok:
                found.append(spec.name)
        return found

    def create(self, spec: SecretSpec, say: Say) -> None:
        from ..ssh.channels import run  # paramiko: only for a host (a local deploy's start)
        from ..ssh.connection import describe

        path = shlex.quote(spec.path)
        folder = shlex.quote(str(Path(spec.path).parent))
        incoming = shlex.quote(str(Path(spec.path).parent / f".{Path(spec.path).name}.incoming"))
        # As many characters as token_urlsafe(length) gives; never over a value (`-s`:
        # only a missing or empty file, as a full disk leaves it), and written aside then
        # renamed into place, so a full disk now leaves no empty secret either.
        size = math.ceil(spec.length * 4 / 3)
        said = run(self.connection,
                   f"umask 077 && mkdir -p {folder} && chmod 700 {folder} && "
                   f"chmod 700 \"$(dirname {folder})\" && "
                   f"if [ ! -s {path} ]; then if [ -e {path} ]; then echo empty; fi; "
                   f"rm -f {incoming} && set -C && "
                   f"LC_ALL=C tr -dc 'A-Za-z0-9_-' </dev/urandom | head -c {size} > {incoming} "
                   f"&& chmod 644 {incoming} && mv -f {incoming} {path}; fi")
        say(f"secret {spec.name}: generated on {describe(self.connection)}"
            + (EMPTY_NOTE if said.strip() == "empty" else ""))

    def read(self, spec: SecretSpec) -> bytes:
        result = self.connection.run(f"cat {shlex.quote(spec.path)}", hide=True,
                                     in_stream=False)
        return str(result.stdout).encode()

    def digests(self, specs: list[SecretSpec]) -> dict[str, str]:
        if not specs:  # `sha256sum` with no file would read its input: forever, over SSH
            return {}
        paths = " ".join(shlex.quote(s.path) for s in specs)
        result = self.connection.run(f"sha256sum {paths} 2>/dev/null", hide=True, warn=True,
                                     in_stream=False)
        by_path = {}
        for line in result.stdout.splitlines():
            digest, _, path = line.partition("  ")
            by_path[path] = digest
        return {s.name: by_path[s.path] for s in specs if s.path in by_path}


def report_local_copies(stack: Stack, host: HostSecrets, say: Say) -> None:
    """A checkout's own secrets are never sent to a host; say so when they differ."""
    import hashlib

    from ..ssh.connection import describe

    specs = [secret_spec(stack, s) for s in stack.secrets]
    on_host = host.digests(specs)
    for secret in stack.secrets:
        local = stack.secret_path(secret.name)
        if not local.is_file() or secret.name not in on_host:
            continue
        if hashlib.sha256(local.read_bytes()).hexdigest() != on_host[secret.name]:
            say(f"secret {secret.name}: this checkout's {local.relative_to(stack.root)} differs "
                f"from {describe(host.connection)}'s; the host's is kept and used (a "
                "checkout's secrets are never sent to a host)")
