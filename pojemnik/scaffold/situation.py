"""Where the user is, for the `pojemnik` command run with no arguments: in a project
(tasks.py and stack.py), half of one, or outside any. Pure file look-ups.

Bare `invoke`/`fab` outside a project print Invoke's own "Can't find any collection
named 'tasks'!" ('fabfile'): that message is Invoke's, printed before any code of ours
runs, so `pojemnik` and its help say what it means instead.
"""

from __future__ import annotations

from pathlib import Path

OUTSIDE = """\
Not in a pojemnik project: no tasks.py in {here} or above it.
(That is what Invoke's "Can't find any collection named 'tasks'!" means, and Fabric's
"... named 'fabfile'!".)
  cd into a project (the directory with stack.py and tasks.py), or make one:
  pojemnik init DIR                        # one static site (the default template)
  pojemnik init DIR --template proxy-app   # proxy, app, worker, Redis
  pojemnik init --list-templates           # which to start from, and why"""

PROJECT = """\
In the pojemnik project {root}.
  invoke --list      its tasks
  invoke check       validate stack.py and .env, change nothing
  invoke deploy      build and run it"""

NO_STACK = """\
{root} has tasks.py but no {missing}: its tasks have no declaration to act on.
  Write {missing} (def declare(settings) -> Stack), or make a project elsewhere and
  copy from it: pojemnik init DIR --template static|proxy-app"""

NO_TASKS = """\
{root} has stack.py but no tasks.py, so `invoke` finds no tasks. Add tasks.py:
  from pathlib import Path
  from pojemnik.tasks import namespace
  ns = namespace(Path(__file__).parent)"""


def project_root(here: Path) -> Path | None:
    """The nearest directory, `here` or above, with tasks.py or stack.py (Invoke looks
    for tasks.py the same way)."""
    for directory in (here, *here.parents):
        if (directory / "tasks.py").is_file() or (directory / "stack.py").is_file():
            return directory
    return None


def describe(here: Path) -> str:
    """What to do next from `here`, for people."""
    root = project_root(here)
    if root is None:
        return OUTSIDE.format(here=here)
    has_tasks, has_stack = (root / "tasks.py").is_file(), (root / "stack.py").is_file()
    if has_tasks and has_stack:
        return PROJECT.format(root=root)
    if has_tasks:
        return NO_STACK.format(root=root, missing="stack.py")
    return NO_TASKS.format(root=root)
