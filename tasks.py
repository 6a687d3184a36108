"""Tasks for this repository's stack, declared in stack.py.

    invoke --list            every task, with help
    invoke deploy            build, create networks, run everything (waits for health)
    fab -H user@server ...   the same tasks on a server over SSH (see fabfile.py)

Every task and option: docs/reference/tasks.md.
"""

from pathlib import Path

from pojemnik.tasks import namespace

ns = namespace(Path(__file__).parent)
