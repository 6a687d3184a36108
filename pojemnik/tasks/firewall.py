"""`firewall.plan`, `firewall.apply`, `firewall.status`, `firewall.rollback`.

`invoke firewall.plan` renders the rules here (sshd's port assumed); under
`fab -H root@server` every task reads the server's facts first. On the Swarm target
(`fab -H root@manager`) every task acts on every node of the Swarm, the others reached
through the manager (`operations.firewall.swarm`). Errors end with one message and a
non-zero exit.
"""

from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from invoke import Collection, Context, Exit, task

from ..console import Say, say
from ..declaration.firewall import Firewall
from ..declaration.model import Stack
from ..declaration.problems import InvalidStack
from ..declaration.validate.firewall import firewall_problems
from ..planning.firewall import Facts, as_json, as_text
from .context import declared, guard, is_remote

if TYPE_CHECKING:
    from ..operations.firewall.apply import Result
    from ..operations.firewall.server import ServerState
    from ..operations.firewall.swarm import Fleet


def _declared(c: Context) -> Stack:
    stack, problems = declared(c)
    problems = problems + firewall_problems(stack, stack.firewall)
    if problems:
        raise Exit(str(InvalidStack(problems)), code=2)
    return stack


def _need_server(c: Context, name: str) -> None:
    if not is_remote(c):
        raise Exit(f"firewall.{name} acts on a server: fab -H root@server firewall.{name} "
                   "(`invoke firewall.plan` shows the rules here)", code=2)


def _fleet(c: Context, stack: Stack, tell: Say = say) -> AbstractContextManager[Fleet]:
    """The host, or on the Swarm target every node (through the manager)."""
    from ..operations.firewall.apply import fleet_for

    return fleet_for(c, stack, tell)


def _aside(line: str) -> None:
    """Progress of the tasks that print a result (plan, status): on standard error, so
    `--json` stays JSON."""
    print(line, file=sys.stderr, flush=True)


@task(help={"format": "text (default: the public ports, then the exact rulesets) or json",
            "ssh_port": "without a server: the port sshd listens on (default 22); under "
                        "fab -H it is read from the server"})
def plan(c: Context, format: str = "text", ssh_port: int = 22) -> None:
    """Print the exact firewall rules for this stack, IPv4 and IPv6; change nothing."""
    if format not in ("text", "json"):
        raise Exit(f"unknown --format {format!r}: use text or json", code=2)
    stack = _declared(c)
    assert stack.firewall is not None
    facts = Facts((ssh_port,))
    if is_remote(c):
        def read() -> Facts:
            with _fleet(c, stack, _aside) as fleet:
                if len(fleet.members) > 1:
                    _aside("the same rules on every node, with its own sshd port(s)")
                return fleet.members[0].state.facts

        facts = guard(read)
    render = as_json if format == "json" else as_text
    print(render(stack, stack.firewall, facts), end="")


@task(help={"timeout": "seconds before the server restores the previous rules by itself "
                       "unless a new SSH connection confirms (default 60; on a Swarm the "
                       "cluster must be confirmed too)"})
def apply(c: Context, timeout: int = 60) -> None:
    """Load the declared rules as one transaction (on a Swarm: on every node), keep them
    across reboots and Docker restarts; the previous rules come back by themselves unless
    NEW SSH logins (and the Swarm) work."""
    from ..operations.firewall.apply import apply_declared

    _need_server(c, "apply")
    if timeout < 15:
        raise Exit("--timeout must be at least 15 s (a new SSH connection has to fit)",
                   code=2)
    stack = _declared(c)
    assert stack.firewall is not None
    firewall = stack.firewall
    _told(guard(lambda: apply_declared(c, stack, firewall, timeout, say)))


def _told(result: Result) -> None:
    """The operation's result: said, or the task's exit with its code."""
    if result.code:
        raise Exit(result.message, code=result.code)
    say(result.message)


def _status_of(stack: Stack, firewall: Firewall, state: ServerState) -> dict[str, Any]:
    from ..operations.firewall.apply import rulesets
    from ..operations.firewall.server import drift_of, live_summary

    changes = drift_of(state, rulesets(stack, firewall, state))
    return {"matches": not changes, "drift": changes, "active": live_summary(state),
            "ssh_ports": list(state.facts.ssh_ports), "restore_pending": state.pending_restore,
            "persisted": sorted(state.files), "ipv6": state.ipv6, "systemd": state.systemd}


def _say_status(report: dict[str, Any], prefix: str = "") -> None:
    for family, rules in report["active"].items():
        say(f"{prefix}active ({family}): {len(rules)} rules in pojemnik's chains")
        for rule in rules:
            say(f"{prefix}  {rule}")
    say(f"{prefix}persisted in /etc/pojemnik/firewall: "
        f"{', '.join(report['persisted']) or 'nothing'}")
    if report["restore_pending"]:
        say(f"{prefix}a restore of the previous rules is pending (an apply is being confirmed)")
    if report["drift"]:
        say(f"{prefix}DRIFT from the declaration:")
        for line in report["drift"]:
            say(f"{prefix}  {line}")
    else:
        say(f"{prefix}matches the declaration")


@task(help={"json": "machine-readable output"})
def status(c: Context, json_: bool = False) -> None:
    """What is active on the server (on a Swarm: on every node), whether it matches the
    declaration, and the drift."""
    _need_server(c, "status")
    stack = _declared(c)
    assert stack.firewall is not None
    firewall = stack.firewall

    def read() -> dict[str, dict[str, Any]]:
        with _fleet(c, stack, _aside) as fleet:
            return {m.name: _status_of(stack, firewall, m.state) for m in fleet.members}

    reports = guard(read)
    if len(reports) == 1:
        [report] = reports.values()
    else:
        report = {"matches": all(r["matches"] for r in reports.values()),
                  "drift": [f"{name}: {line}" for name, r in reports.items()
                            for line in r["drift"]],
                  "nodes": reports}
    if json_:
        print(json.dumps(report, indent=2))
        return
    for name, one in reports.items():
        _say_status(one, f"{name}: " if len(reports) > 1 else "")


@task(help={"timeout": "seconds before the server undoes the rollback by itself unless a "
                       "new SSH connection confirms (default 60)"})
def rollback(c: Context, timeout: int = 60) -> None:
    """Put back the rules that were active before the last apply (on a Swarm: on every
    node), with the same no-lockout confirmation; running it again goes forward again."""
    from ..operations.firewall.apply import roll_back

    _need_server(c, "rollback")
    stack = _declared(c)
    _told(guard(lambda: roll_back(c, stack, timeout, say)))


def collection() -> Collection:
    firewall = Collection("firewall")
    for name, body in (("plan", plan), ("apply", apply), ("status", status),
                       ("rollback", rollback)):
        firewall.add_task(body, name, default=name == "plan")
    return firewall
