"""Tasks for this repository's stack, declared in stack.py.

    invoke --list            every task, with help
    invoke deploy            build, create networks, run everything (waits for health)
    fab -H user@server ...   (coming: the same tasks on a remote host)
"""

from pathlib import Path

from pojemnik.tasks import namespace

ns = namespace(Path(__file__).parent)
