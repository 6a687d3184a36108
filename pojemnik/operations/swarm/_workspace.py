"""The checkout's part of a Swarm plan: the files under read-only bind mounts (each one
becomes a Swarm config named by its content) and a digest of each secret's value, where
the manager keeps it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ...declaration.model import Stack
from ...hostfiles.secrets import SecretStore
from ...planning.spec import secret_spec
from ...planning.swarm.state import ConfigFile, SwarmState
from ...ssh.mirror import below


def config_files(stack: Stack) -> dict[str, ConfigFile]:
    """Repository path -> file, for every file under the stack's read-only binds."""
    found: dict[str, ConfigFile] = {}
    data = stack.data_paths()  # a writable bind inside a read-only one stays a bind
    for source in stack.config_paths():
        root = stack.root / source
        paths = [root] if root.is_file() else sorted(_files_under(root))
        for path in paths:
            relative = path.relative_to(stack.root).as_posix()
            if below(relative, data):
                continue
            content = path.read_bytes()
            found[relative] = ConfigFile(relative, hashlib.sha256(content).hexdigest(),
                                         len(content), os.access(path, os.X_OK))
    return found


def _files_under(root: Path) -> list[Path]:
    files = []
    for directory, dirs, names in os.walk(root, followlinks=False):
        dirs.sort()
        files += [Path(directory) / name for name in names
                  if (Path(directory) / name).is_file()]
    return files


def with_checkout(stack: Stack, state: SwarmState, secrets: SecretStore) -> SwarmState:
    from dataclasses import replace

    specs = [secret_spec(stack, s) for s in stack.secrets]
    return replace(state, files=config_files(stack), secret_digests=secrets.digests(specs))


def read_config(stack: Stack, path: str) -> bytes:
    return (stack.root / path).read_bytes()
