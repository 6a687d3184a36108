"""Content hashes of build inputs, so an unchanged image is never sent to the builder."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path


def tree_hash(root: Path) -> str:
    """Hash every file under `root`: relative path, executable bit, contents."""
    digest = hashlib.sha256()
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            executable = os.access(path, os.X_OK) and not path.is_symlink()
            digest.update(f"{relative}\0{int(executable)}\0".encode())
            if path.is_symlink():
                digest.update(os.readlink(path).encode())
            else:
                with path.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 16), b""):
                        digest.update(chunk)
            digest.update(b"\0")
    return digest.hexdigest()


def context_hash(context: Path, dockerfile: str, build_args: Mapping[str, str],
                 base_image_id: str) -> str:
    """Everything that decides what `docker build` makes, in one hash."""
    digest = hashlib.sha256()
    digest.update(tree_hash(context).encode())
    digest.update(dockerfile.encode())
    for key, value in sorted(build_args.items()):
        digest.update(f"{key}={value}\0".encode())
    digest.update(base_image_id.encode())
    return digest.hexdigest()


def paths_hash(root: Path, paths: list[str]) -> str:
    """Hash files and directories (relative to `root`) together; a missing one counts too."""
    digest = hashlib.sha256()
    for relative in sorted(paths):
        path = root / relative
        digest.update(f"{relative}\0".encode())
        if path.is_dir():
            digest.update(tree_hash(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
        else:
            digest.update(b"\0missing")
    return digest.hexdigest()
