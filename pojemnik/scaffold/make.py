"""Write a new project from the templates shipped in this package (pure file work).

Files ending in `.tmpl` have `$project` filled in and lose the suffix; `gitignore` and
`env.example` become dot files (a real `.gitignore` inside the package would act on it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

DOT_FILES = {"gitignore": ".gitignore", "env.example": ".env.example"}


class Conflict(Exception):
    """Files that exist already and would be overwritten."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        super().__init__(", ".join(str(p) for p in paths))


@dataclass(frozen=True)
class TemplateFile:
    relative: str  # path in the new project
    source: Traversable
    fill: bool


def project_name(directory: Path) -> str:
    """A Docker-safe project name from a directory name: `My Site!` -> `my-site`."""
    name = re.sub(r"[^a-z0-9]+", "-", directory.name.lower()).strip("-")
    return name or "site"


def templates() -> list[TemplateFile]:
    found: list[TemplateFile] = []

    def walk(node: Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda n: n.name):
            if child.name == "__pycache__":
                continue
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
                continue
            name, fill = child.name, child.name.endswith(".tmpl")
            if fill:
                name = name.removesuffix(".tmpl")
            name = DOT_FILES.get(name, name) if not prefix else name
            found.append(TemplateFile(f"{prefix}{name}", child, fill))

    walk(resources.files(__package__).joinpath("templates"), "")
    return found


def make_project(directory: Path, project: str | None = None, force: bool = False
                 ) -> list[Path]:
    """Write the project's files into `directory`; returns them in order written.

    Raises Conflict, writing nothing, if any exists and not `force`.
    """
    project = project or project_name(directory.resolve())
    planned = [(directory / t.relative, t) for t in templates()]
    existing = [path for path, _ in planned if path.exists()]
    if existing and not force:
        raise Conflict(existing)
    for path, template in planned:
        path.parent.mkdir(parents=True, exist_ok=True)
        if template.fill:
            text = Template(template.source.read_text(encoding="utf-8"))
            path.write_text(text.substitute(project=project), encoding="utf-8")
        else:
            path.write_bytes(template.source.read_bytes())
    return [path for path, _ in planned]
