"""`healing.*`: the host's watcher that restarts containers which stay unhealthy."""

from __future__ import annotations

from invoke import Context, task

from ..console import say
from .context import guard


@task
def install(c: Context) -> None:
    """Install the watcher on the host (a systemd timer): fab -H root@server healing.install."""
    from ..operations.server.healing import install as install_watcher

    guard(lambda: install_watcher(c, say))


@task(help={"lines": "how many of the last lines (default 20)"})
def log(c: Context, lines: int = 20) -> None:
    """What the watcher did lately: its restarts, from the host's log."""
    from ..operations.server.healing import LOG, recent

    found = guard(lambda: recent(c, lines))
    for line in found or [f"(nothing in {LOG}: no restart so far, or not installed)"]:
        say(line)
