"""Write a new project from a template shipped in this package (pure file work).

`templates.py` says which files each template writes and from where; in those marked
to fill, `$project` becomes the project's name.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template

from .templates import DEFAULT, TEMPLATES


class Conflict(Exception):
    """Files that exist already and would be overwritten."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        super().__init__(", ".join(str(p) for p in paths))


def project_name(directory: Path) -> str:
    """A Docker-safe project name from a directory name: `My Site!` -> `my-site`."""
    name = re.sub(r"[^a-z0-9]+", "-", directory.name.lower()).strip("-")
    return name or "site"


def make_project(directory: Path, project: str | None = None, force: bool = False,
                 template: str = DEFAULT) -> list[Path]:
    """Write the template's files into `directory`; returns them in the order written.

    Raises Conflict, writing nothing, if any exists already and not `force`; KeyError
    for a template that is not in TEMPLATES.
    """
    project = project or project_name(directory.resolve())
    files = TEMPLATES[template].files
    existing = [directory / f.path for f in files if (directory / f.path).exists()]
    if existing and not force:
        raise Conflict(existing)
    package = resources.files(__package__)
    written = []
    for file in files:
        path = directory / file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        text = package.joinpath(file.template).read_text(encoding="utf-8")
        if file.fill:
            text = Template(text).substitute(project=project)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
