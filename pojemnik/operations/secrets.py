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
from ..ssh.channels import run
from ..ssh.connection import describe

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
        return [s.name for s in specs if Path(s.path).is_file()]

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
    if path.exists():
        return
    path.write_text(secrets.token_urlsafe(spec.length))
    path.chmod(0o644)
    say(f"secret {spec.name}: generated in {path}")


def write_all(stack: Stack, say: Say) -> None:
    for secret in stack.secrets:
        write_secret(secret_spec(stack, secret), say)


class HostSecrets:
    """Secrets made on the remote host itself, from its own random source."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def present(self, specs: list[SecretSpec]) -> list[str]:
        found = []
        for spec in specs:
            if self.connection.run(f"test -f {shlex.quote(spec.path)}", hide=True,
                                   warn=True, in_stream=False).ok:
                found.append(spec.name)
        return found

    def create(self, spec: SecretSpec, say: Say) -> None:
        path = shlex.quote(spec.path)
        folder = shlex.quote(str(Path(spec.path).parent))
        # As many characters as token_urlsafe(length) gives; `set -C`: never overwrite.
        size = math.ceil(spec.length * 4 / 3)
        run(self.connection,
            f"umask 077 && mkdir -p {folder} && chmod 700 {folder} && "
            f"chmod 700 \"$(dirname {folder})\" && "
            f"if [ ! -e {path} ]; then set -C; "
            f"LC_ALL=C tr -dc 'A-Za-z0-9_-' </dev/urandom | head -c {size} > {path} && "
            f"chmod 644 {path}; fi")
        say(f"secret {spec.name}: generated on {describe(self.connection)}")

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
