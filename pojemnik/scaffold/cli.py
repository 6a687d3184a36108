"""The `pojemnik` command: `pojemnik init [DIR]` starts a new project."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .make import Conflict, make_project, project_name

# Docker image repositories are the strictest user of the name: <project>/<image>.
PROJECT = re.compile(r"[a-z0-9]+(?:[-_.][a-z0-9]+)*")

NEXT_STEPS = """\
Next:
  cd {where}
  invoke check       # validate stack.py and .env (copy .env.example to .env to change them)
  invoke deploy      # build the image, create the network, run the site
  curl http://127.0.0.1:8080/
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pojemnik", description="pojemnik: a small server's Docker stack, declared once.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = commands.add_parser(
        "init", help="make a new project: stack.py, tasks.py, .env.example, an nginx image",
        description="Make a new project in DIR (default: the current directory) with one "
                    "static site served by nginx; `invoke deploy` runs it as is.")
    init.add_argument("directory", nargs="?", default=".", metavar="DIR",
                      help="where to make it (created if missing; default: .)")
    init.add_argument("--project", help="POJEMNIK_PROJECT default in .env.example "
                                        "(default: DIR's name, made Docker-safe)")
    init.add_argument("--force", action="store_true",
                      help="overwrite files that exist already")
    args = parser.parse_args(argv)

    directory = Path(args.directory)
    if directory.exists() and not directory.is_dir():
        print(f"pojemnik init: {directory} exists and is not a directory", file=sys.stderr)
        return 2
    project = args.project or project_name(directory.resolve())
    if not PROJECT.fullmatch(project):
        print(f"pojemnik init: --project {project!r}: use lowercase letters, digits and "
              "single - _ . between them (it names Docker objects and images)", file=sys.stderr)
        return 2
    try:
        written = make_project(directory, project, force=args.force)
    except Conflict as conflict:
        names = "\n".join(f"  {p}" for p in conflict.paths)
        print(f"pojemnik init: these files exist already, nothing was written:\n{names}\n"
              "Use another directory, or --force to overwrite them.", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"\nProject {project!r} made in {directory}.\n"
          + NEXT_STEPS.format(where=directory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
