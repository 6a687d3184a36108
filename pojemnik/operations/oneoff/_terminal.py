"""The task's own terminal while a command in a container has one: raw mode (keys,
Ctrl-C included, go to the command), restored afterwards whatever happened."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from ...engine.session import Session


def wants_tty(asked: bool) -> bool:
    """A terminal inside only when asked and both ends here are terminals."""
    return asked and sys.stdin.isatty() and sys.stdout.isatty()


def session(tty: bool) -> Session:
    """The process's streams: with a terminal, all of it; without, standard input is
    passed on only when it is not a terminal (a pipe or a file: `< dump.sql`), since a
    command that reads a terminal without one would wait unseen."""
    size = None
    if tty:
        with contextlib.suppress(OSError):
            columns, rows = os.get_terminal_size(sys.stdout.fileno())
            size = (rows, columns)
    stdin = sys.stdin.buffer if tty or not sys.stdin.isatty() else None
    return Session(tty=tty, stdin=stdin, stdout=sys.stdout.buffer,
                   stderr=sys.stderr.buffer, size=size)


@contextlib.contextmanager
def raw_terminal(active: bool) -> Iterator[None]:
    if not active:
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
