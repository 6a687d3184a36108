"""`firewall.apply` and `firewall.rollback` on the task's host, or on every node of the
Swarm it manages: the rules each member needs (or had before), what differs and who would
be locked out said first, then one guarded load (`_deadman`), then the live rules checked
against the declaration. The task only prints the `Result`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...console import Say
from ...declaration.firewall import Firewall
from ...declaration.model import Stack
from ...declaration.swarm import SWARM
from ...planning.firewall import Ruleset, header, openings, render_all
from ._deadman import Rules, safe_apply
from .server import ServerState, drift_of, gather, locks_out
from .swarm import Fleet, Member, fleet_of, needed_timeout

if TYPE_CHECKING:
    from fabric import Connection


@dataclass(frozen=True)
class Result:
    """What to tell: `message`, and the exit code (0: done; 1: not done; 2: bad input)."""

    message: str
    code: int = 0


def rulesets(stack: Stack, firewall: Firewall, state: ServerState) -> list[Ruleset]:
    """The declared rulesets this member loads (IPv6 only where it has IPv6)."""
    return [r for r in render_all(stack, firewall, state.facts)
            if r.family == "v4" or state.ipv6]


def fleet_for(host: Connection, stack: Stack, say: Say) -> AbstractContextManager[Fleet]:
    """The task's host, or on the Swarm target every node (through the manager)."""
    return fleet_of(host, stack.target == SWARM, say)


def apply_declared(host: Connection, stack: Stack, firewall: Firewall, timeout: int,
                   say: Say) -> Result:
    with fleet_for(host, stack, say) as fleet:
        if fleet.manager is not None and timeout < needed_timeout(fleet.settings):
            return Result(f"--timeout must be at least {needed_timeout(fleet.settings)} s "
                          "on this Swarm (the cluster check waits three heartbeat periods "
                          f"of {fleet.settings.heartbeat:g} s)", code=2)
        members, changed = [], False
        for member in fleet.members:
            wanted = rulesets(stack, firewall, member.state)
            texts = {r.family: r.restore_text(header(stack, member.state.facts, r.family))
                     for r in wanted}
            changed |= _report_changes(stack, firewall, member, wanted, texts,
                                       len(fleet.members) > 1, say)
            members.append(Rules(member.name, member.connection, member.state, texts))
        families = ", ".join(sorted(members[0].rules))
        if not changed:
            return Result(f"firewall: matches the declaration ({families}"
                          f"{', every node' if len(members) > 1 else ''}); nothing to do")
        outcome = safe_apply(members, timeout, say, fleet.check())
        if not outcome.confirmed:
            return Result(f"firewall NOT applied: {outcome.message}", code=1)
        after = _drift_after(stack, firewall, fleet)
    if after:
        return Result("firewall applied but the live rules differ:\n" + "\n".join(after),
                      code=1)
    what = ("new SSH connections to every node and the Swarm's check" if len(members) > 1
            else "a new SSH connection")
    return Result(f"firewall: applied and confirmed by {what}; restore cancelled ({families})")


def roll_back(host: Connection, stack: Stack, timeout: int, say: Say) -> Result:
    """The rules active before the last apply, on every member, by the same guarded load."""
    with fleet_for(host, stack, say) as fleet:
        members = []
        for member in fleet.members:
            state = member.state
            previous = {f: state.files[f"previous.{f}"] for f in ("v4", "v6")
                        if f"previous.{f}" in state.files and (f == "v4" or state.ipv6)}
            if not previous:
                where = "on this server" if len(fleet.members) == 1 else f"on {member.name}"
                return Result(f"nothing to roll back to: no firewall.apply has run {where}",
                              code=1)
            members.append(Rules(member.name, member.connection, state, previous))
        outcome = safe_apply(members, timeout, say, fleet.check())
    if not outcome.confirmed:
        return Result(f"rollback NOT applied: {outcome.message}", code=1)
    families = ", ".join(sorted(members[0].rules))
    return Result(f"firewall: rolled back to the previous rules ({families}); "
                  "confirmed by a new SSH connection"
                  + (" to every node and the Swarm's check" if len(members) > 1 else ""))


def _drift_after(stack: Stack, firewall: Firewall, fleet: Fleet) -> list[str]:
    """The live rules of every member, read again, against the declaration."""
    named = len(fleet.members) > 1
    return [f"{m.name}: {line}" if named else line for m in fleet.members
            for line in drift_of(gather(m.connection), rulesets(stack, firewall, m.state))]


def _report_changes(stack: Stack, firewall: Firewall, member: Member,
                    wanted: list[Ruleset], texts: dict[str, str], named: bool,
                    say: Say) -> bool:
    """Say how the host differs from the declaration, and warn of a lock-out; True if it
    differs (live rules or stored files)."""
    state = member.state
    prefix = f"{member.name}: " if named else ""
    if firewall.ipv6 and not state.ipv6:
        say(f"{prefix}IPv6: no ip6tables or IPv6 on the server; IPv4 rules only")
    changes = drift_of(state, wanted)
    for line in changes:
        say(f"  {prefix}{line}")
    for port in state.facts.ssh_ports:
        if locks_out(openings(stack, firewall, state.facts), state.client, port):
            say(f"WARNING: {prefix}your address {state.client} (as the server sees it) is "
                f"not allowed to SSH port {port} by this declaration: the confirmation will "
                "fail and the previous rules will come back")
    return bool(changes) or any(state.files.get(f"rules.{f}") != t for f, t in texts.items())
