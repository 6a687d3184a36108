"""Where a stack lives on a remote host: `/srv/pojemnik/<project>` unless
POJEMNIK_REMOTE_DIR names another base."""

from __future__ import annotations

import os

DEFAULT_REMOTE_DIR = "/srv/pojemnik"


def remote_dir(project: str) -> str:
    """Never the base itself nor outside it: tasks chown and chmod this directory."""
    if project in ("", ".", "..") or "/" in project:
        raise ValueError(f"project name {project!r} is not a directory name")
    base = os.environ.get("POJEMNIK_REMOTE_DIR") or DEFAULT_REMOTE_DIR
    return f"{base.rstrip('/')}/{project}"
