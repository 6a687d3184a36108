"""The `pojemnik` command: `pojemnik init [DIR] [--template T]` starts a new project;
with no command it says where you are and what to do next."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .make import Conflict, make_project, project_name
from .situation import describe
from .templates import DEFAULT, TEMPLATES, listing

# Docker image repositories are the strictest user of the name: <project>/<image>.
PROJECT = re.compile(r"[a-z0-9]+(?:[-_.][a-z0-9]+)*")

NEXT_STEPS = """\
Next:
  cd {where}
  invoke check       # validate stack.py and .env (copy .env.example to .env to change them)
  invoke deploy      # build the images, create the networks, run the services
  {try_it}
"""

EPILOG = """\
A project's own commands are Invoke tasks, run in its directory: `invoke --list`,
`invoke deploy`; on a server over SSH, `fab -H user@server deploy`. Outside a project
Invoke and Fabric can only say "Can't find any collection named 'tasks'!" ('fabfile'):
cd into the project, or make one with `pojemnik init`. Run `pojemnik` alone to see
where you are."""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pojemnik", description="pojemnik: a small server's Docker stack, declared once.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    init = commands.add_parser(
        "init", help="make a new project: stack.py, tasks.py, .env.example, images, config",
        description="Make a new project in DIR (default: the current directory) from a\n"
                    "template; `invoke deploy` runs it as is. Templates:\n\n" + listing(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    init.add_argument("directory", nargs="?", default=".", metavar="DIR",
                      help="where to make it (created if missing; default: .)")
    init.add_argument("--template", "-t", default=DEFAULT, choices=list(TEMPLATES),
                      help=f"what to start from (default: {DEFAULT}; see --list-templates)")
    init.add_argument("--list-templates", action="store_true",
                      help="say what each template makes and why to start from it; make nothing")
    init.add_argument("--project", help="POJEMNIK_PROJECT default in .env.example "
                                        "(default: DIR's name, made Docker-safe)")
    init.add_argument("--force", action="store_true",
                      help="overwrite files that exist already")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command is None:
        print(describe(Path.cwd()) + "\n\n(pojemnik --help: every command)")
        return 2
    if args.list_templates:
        print("Templates (pojemnik init DIR --template NAME):\n" + listing())
        return 0
    return init(Path(args.directory), args.project, args.template, args.force)


def init(directory: Path, project: str | None, template: str, force: bool) -> int:
    if directory.exists() and not directory.is_dir():
        print(f"pojemnik init: {directory} exists and is not a directory", file=sys.stderr)
        return 2
    project = project or project_name(directory.resolve())
    if not PROJECT.fullmatch(project):
        print(f"pojemnik init: --project {project!r}: use lowercase letters, digits and "
              "single - _ . between them (it names Docker objects and images)", file=sys.stderr)
        return 2
    try:
        written = make_project(directory, project, force=force, template=template)
    except Conflict as conflict:
        names = "\n".join(f"  {p}" for p in conflict.paths)
        print(f"pojemnik init: these files exist already, nothing was written:\n{names}\n"
              "Use another directory, or --force to overwrite them.", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"\nProject {project!r} made in {directory} from the {template} template.\n"
          + NEXT_STEPS.format(where=directory, try_it=TEMPLATES[template].try_it))
    return 0


if __name__ == "__main__":
    sys.exit(main())
