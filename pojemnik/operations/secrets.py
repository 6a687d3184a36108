"""The stack's secrets: random values in files, made once and never printed."""

from __future__ import annotations

import secrets
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from ..console import Say
from ..declaration.model import Stack
from ..planning.spec import SecretSpec, secret_spec
from ..ssh.connection import describe

if TYPE_CHECKING:
    from fabric import Connection


def write_secret(spec: SecretSpec, say: Say) -> None:
    """A random value in a file only root on the host can reach (the folder is 0700);
    the file itself is world-readable so the non-root user inside the container can
    read its bind mount. An existing secret is never replaced."""
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


def fetch_missing_secrets(connection: Connection, stack: Stack, say: Say) -> None:
    """Secrets the server has but this checkout lacks are copied here, never regenerated:
    the server's database was initialised with them."""
    assert stack.mount_root is not None
    for secret in stack.secrets:
        local = stack.secret_path(secret.name)
        if local.exists():
            continue
        remote = f"{stack.mount_root}/{stack.secrets_dir()}/{secret.name}"
        result = connection.run(f"cat {shlex.quote(remote)}", hide=True, warn=True,
                                in_stream=False)
        if result.ok and result.stdout:
            local.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            local.write_text(result.stdout)
            local.chmod(0o644)
            say(f"secret {secret.name}: taken from {describe(connection)} (not regenerated)")
