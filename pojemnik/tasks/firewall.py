"""`firewall.plan`, `firewall.apply`, `firewall.status`, `firewall.rollback`.

`invoke firewall.plan` renders the rules here (sshd's port assumed); under
`fab -H root@server` every task reads the server's facts first. Errors end with one
message and a non-zero exit.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from invoke import Collection, Context, Exit, task

from ..console import say
from ..declaration.model import Stack
from ..declaration.problems import InvalidStack
from ..declaration.validate_firewall import firewall_problems
from ..planning.firewall import Facts, as_json, as_text, header, openings, render_all
from .context import declared, guard, is_remote

T = TypeVar("T")


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


@task(help={"format": "text (default: the public ports, then the exact rulesets) or json",
            "ssh_port": "without a server: the port sshd listens on (default 22); under "
                        "fab -H it is read from the server"})
def plan(c: Context, format: str = "text", ssh_port: int = 22) -> None:
    """Print the exact firewall rules for this stack, IPv4 and IPv6; change nothing."""
    if format not in ("text", "json"):
        raise Exit(f"unknown --format {format!r}: use text or json", code=2)
    stack = _declared(c)
    facts = Facts((ssh_port,))
    if is_remote(c):
        from ..operations.firewall import gather

        facts = guard(lambda: gather(c)).facts
    assert stack.firewall is not None
    render = as_json if format == "json" else as_text
    print(render(stack, stack.firewall, facts), end="")


@task(help={"timeout": "seconds before the server restores the previous rules by itself "
                       "unless a new SSH connection confirms (default 60)"})
def apply(c: Context, timeout: int = 60) -> None:
    """Load the declared rules as one transaction, keep them across reboots and Docker
    restarts; the previous rules come back by themselves unless a NEW SSH login works."""
    from ..operations.firewall import drift_of, gather, locks_out, safe_apply

    _need_server(c, "apply")
    if timeout < 15:
        raise Exit("--timeout must be at least 15 s (a new SSH connection has to fit)",
                   code=2)
    stack = _declared(c)
    assert stack.firewall is not None
    firewall = stack.firewall

    def work() -> None:
        state = gather(c)
        rulesets = [r for r in render_all(stack, firewall, state.facts)
                    if r.family == "v4" or state.ipv6]
        if firewall.ipv6 and not state.ipv6:
            say("IPv6: no ip6tables or IPv6 on the server; IPv4 rules only")
        texts = {r.family: r.restore_text(header(stack, state.facts, r.family))
                 for r in rulesets}
        changes = drift_of(state, rulesets)
        stored = all(state.files.get(f"rules.{f}") == t for f, t in texts.items())
        if not changes and stored:
            say(f"firewall: matches the declaration ({len(rulesets)} families); nothing to do")
            return
        for line in changes:
            say(f"  {line}")
        for port in state.facts.ssh_ports:
            if locks_out(openings(stack, firewall, state.facts), state.client, port):
                say(f"WARNING: your address {state.client} (as the server sees it) is not "
                    f"allowed to SSH port {port} by this declaration: the confirmation "
                    "will fail and the previous rules will come back")
        outcome = safe_apply(c, state, texts, timeout, say)
        if not outcome.confirmed:
            raise Exit(f"firewall NOT applied: {outcome.message}", code=1)
        after = drift_of(gather(c), rulesets)
        if after:
            raise Exit("firewall applied but the live rules differ:\n" + "\n".join(after),
                       code=1)
        say(f"firewall: applied and confirmed by a new SSH connection; restore cancelled "
            f"({', '.join(sorted(texts))})")

    guard(work)


@task(help={"json": "machine-readable output"})
def status(c: Context, json_: bool = False) -> None:
    """What is active on the server, whether it matches the declaration, and the drift."""
    from ..operations.firewall import drift_of, gather, live_summary

    _need_server(c, "status")
    stack = _declared(c)
    assert stack.firewall is not None
    state = guard(lambda: gather(c))
    rulesets = [r for r in render_all(stack, stack.firewall, state.facts)
                if r.family == "v4" or state.ipv6]
    changes = drift_of(state, rulesets)
    report: dict[str, Any] = {
        "matches": not changes, "drift": changes, "active": live_summary(state),
        "ssh_ports": list(state.facts.ssh_ports), "restore_pending": state.pending_restore,
        "persisted": sorted(state.files), "ipv6": state.ipv6, "systemd": state.systemd}
    if json_:
        print(json.dumps(report, indent=2))
        return
    for family, rules in report["active"].items():
        say(f"active ({family}): {len(rules)} rules in pojemnik's chains")
        for rule in rules:
            say(f"  {rule}")
    say(f"persisted in /etc/pojemnik/firewall: {', '.join(report['persisted']) or 'nothing'}")
    if state.pending_restore:
        say("a restore of the previous rules is pending (an apply is being confirmed)")
    if changes:
        say("DRIFT from the declaration:")
        for line in changes:
            say(f"  {line}")
    else:
        say("matches the declaration")


@task(help={"timeout": "seconds before the server undoes the rollback by itself unless a "
                       "new SSH connection confirms (default 60)"})
def rollback(c: Context, timeout: int = 60) -> None:
    """Put back the rules that were active before the last apply (with the same no-lockout
    confirmation); running it again goes forward again."""
    from ..operations.firewall import gather, safe_apply

    _need_server(c, "rollback")

    def work() -> None:
        state = gather(c)
        previous = {f: state.files[f"previous.{f}"] for f in ("v4", "v6")
                    if f"previous.{f}" in state.files and (f == "v4" or state.ipv6)}
        if not previous:
            raise Exit("nothing to roll back to: no firewall.apply has run on this server",
                       code=1)
        outcome = safe_apply(c, state, previous, timeout, say)
        if not outcome.confirmed:
            raise Exit(f"rollback NOT applied: {outcome.message}", code=1)
        say(f"firewall: rolled back to the previous rules ({', '.join(sorted(previous))}); "
            "confirmed by a new SSH connection")

    guard(work)


def collection() -> Collection:
    firewall = Collection("firewall")
    for name, body in (("plan", plan), ("apply", apply), ("status", status),
                       ("rollback", rollback)):
        firewall.add_task(body, name, default=name == "plan")
    return firewall
