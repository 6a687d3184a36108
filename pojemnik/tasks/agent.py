"""`agent.*`: the server agent that runs the stack's scheduled work (jobs, renewals,
backups, checks) on the engine's host: install it, read its records."""

from __future__ import annotations

import json

from invoke import Collection, Context, task

from ..console import say
from ..declaration.model import Stack
from .context import guard, is_remote, print_table, stack_of


@task()
def install(c: Context) -> None:
    """Install or update the agent, its config and one systemd timer per scheduled task
    (root or sudo -n; fab -H root@server agent.install). Timers of tasks no longer
    declared are removed."""
    from ..operations.server.agent import install as install_agent

    stack = stack_of(c)
    guard(lambda: install_agent(c, stack, say))


@task(help={"json": "print the records as JSON"})
def records(c: Context, json_: bool = False) -> None:
    """Each agent task's last run on the host: when, exit code, duration, backoff."""
    from ..operations.server.agent import records as read_records

    stack = stack_of(c)
    found = guard(lambda: read_records(c, stack.project))
    if json_:
        print(json.dumps(found, indent=2, sort_keys=True))
        return
    if not found:
        say(f"{stack.project}: the agent has recorded no run here yet")
        return
    print_table(["TASK", "STARTED", "EXIT", "SECONDS", "FAILURES", "NEXT AFTER"],
                [[str(r.get("name")), str(r.get("started")), str(r.get("exit")),
                  str(r.get("seconds")), str(r.get("failures", 0)),
                  str(r.get("next_after") or "-")] for r in found])


def after_deploy(c: Context, stack: Stack) -> None:
    """Declared is scheduled: a remote deploy of a stack with scheduled work installs or
    updates the agent on the host (with root or sudo; else it says how). A local one does
    not touch this machine's timers: it says how to."""
    from ..operations.server.agent import can_install, install, scheduled

    work = guard(lambda: scheduled(stack))
    if not work:
        return
    names = ", ".join(sorted(work))
    if not is_remote(c):
        say(f"{stack.project}: scheduled work declared ({names}); `invoke agent.install` "
            "runs it on this machine (a remote deploy installs it on the server)")
        return
    if not guard(lambda: can_install(c)):
        say(f"{stack.project}: scheduled work declared ({names}) but not installed: the "
            "agent needs root or passwordless sudo; run `fab -H root@HOST agent.install`")
        return
    guard(lambda: install(c, stack, say))


def collection() -> Collection:
    agent = Collection("agent")
    agent.add_task(records, "records", default=True)
    agent.add_task(install, "install")
    return agent
