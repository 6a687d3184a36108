"""Write a new project from the templates shipped in this package (pure file work).

The templates sit flat in `project-template/` as `<name>.tmpl`, so that no tool takes
them for this package's own modules, dot files or config (and setuptools not for a
package: the folder's name cannot be imported); FILES says where each one goes. In those
marked to fill, `$project` becomes the project's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template


@dataclass(frozen=True)
class ProjectFile:
    path: str  # in the new project
    template: str  # in project-template/
    fill: bool = False  # substitute $project


FILES = [
    ProjectFile("stack.py", "stack.py.tmpl"),
    ProjectFile("tasks.py", "tasks.py.tmpl"),
    ProjectFile("fabfile.py", "fabfile.py.tmpl"),
    ProjectFile("fabric.yaml", "fabric.yaml.tmpl"),
    ProjectFile(".env.example", "env.example.tmpl", fill=True),
    ProjectFile(".gitignore", "gitignore.tmpl"),
    ProjectFile("images/web/Dockerfile", "Dockerfile.tmpl"),
    ProjectFile("config/web/nginx.conf", "nginx.conf.tmpl"),
    ProjectFile("www/index.html", "index.html.tmpl", fill=True),
]


class Conflict(Exception):
    """Files that exist already and would be overwritten."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        super().__init__(", ".join(str(p) for p in paths))


def project_name(directory: Path) -> str:
    """A Docker-safe project name from a directory name: `My Site!` -> `my-site`."""
    name = re.sub(r"[^a-z0-9]+", "-", directory.name.lower()).strip("-")
    return name or "site"


def make_project(directory: Path, project: str | None = None, force: bool = False
                 ) -> list[Path]:
    """Write the project's files into `directory`; returns them in the order written.

    Raises Conflict, writing nothing, if any exists already and not `force`.
    """
    project = project or project_name(directory.resolve())
    existing = [directory / f.path for f in FILES if (directory / f.path).exists()]
    if existing and not force:
        raise Conflict(existing)
    templates = resources.files(__package__).joinpath("project-template")
    written = []
    for file in FILES:
        path = directory / file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        text = templates.joinpath(file.template).read_text(encoding="utf-8")
        if file.fill:
            text = Template(text).substitute(project=project)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
