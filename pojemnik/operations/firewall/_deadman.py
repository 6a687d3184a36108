"""Loading firewall rules without locking anyone out, on one server or on every node of a
Swarm at once: the dead-man switch.

1. On every host, before any loads anything: the active chains saved as `previous.*`, the
   new rules written, and a restore of the previous ones armed ON THE HOST ITSELF (a
   systemd timer, or a detached process), independent of this SSH session.
2. Every host loads its rules.
3. Within the window: a NEW SSH connection to every host (a node behind the manager
   through a new connection to the manager too), then `check` (on a Swarm: that the
   cluster still works, `firewall_swarm.cluster_check`).
4. Only if all of that worked in time are the restores cancelled. Otherwise nothing is
   touched again: each host's own timer puts its previous rules back, and apply checks
   with new connections that SSH works again before it reports.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...console import Say
from ...errors import OperationError
from ...ssh.connection import open_connection
from .server import (
    DIR,
    ServerState,
    as_root,
    cancel_restore,
    close_all,
    confirm,
    fresh_connection,
    install,
    run_as_root,
    schedule_restore,
)

if TYPE_CHECKING:
    from fabric import Connection

RESTORE_GRACE = 30  # seconds after the restore is due before giving up on reaching the host
MARGIN = 3.0  # seconds: the confirmation ends at least this long before a restore is due
Check = Callable[[float], "str | None"]  # (monotonic deadline) -> None, or what failed


@dataclass(frozen=True)
class Rules:
    """One host to load rules on: its name in messages, its connection, what it
    reported, and its rules (family -> iptables-restore text)."""

    name: str
    connection: Connection
    state: ServerState
    rules: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    confirmed: bool
    how: str  # how the restores were scheduled
    message: str = ""


@dataclass(frozen=True)
class Window:
    first_due: float  # monotonic time the first restore fires
    last_due: float  # ... and the last
    timeout: int


def safe_apply(hosts: list[Rules], timeout: int, say: Say,
               check: Check | None = None) -> Outcome:
    """Arm a restore on every host, load every host's rules, confirm (new SSH
    connections, then `check`), then disarm all; on a failed confirmation wait for the
    hosts to restore their previous rules themselves, check that, and report."""
    for host in hosts:
        if host.state.pending_restore:
            raise OperationError(f"{host.name}: another apply is being confirmed (a "
                                 "restore of the previous rules is armed); wait for it to "
                                 "finish, then run again")
    hows, window = _arm(hosts, timeout, say)
    _load(hosts, say)
    # A refused connection is an expected answer here: keep paramiko's transport threads
    # (which may report a banner timeout after `confirm` gave up) from printing tracebacks.
    transport_log = logging.getLogger("paramiko.transport")
    level = transport_log.level
    transport_log.setLevel(logging.CRITICAL)
    try:
        return _confirm_or_wait(hosts, ", ".join(dict.fromkeys(hows)), window, check, say)
    finally:
        transport_log.setLevel(level)


def _arm(hosts: list[Rules], timeout: int, say: Say) -> tuple[list[str], Window]:
    hows: list[str] = []
    starts: list[float] = []
    try:
        for host in hosts:
            install(host.connection, host.state, host.rules)
            before = time.monotonic()
            hows.append(schedule_restore(host.connection, timeout, host.state.systemd))
            starts += [before, time.monotonic()]
            say(f"{host.name}: restore of the previous rules armed ({hows[-1]}, in "
                f"{timeout} s)")
    except BaseException:
        for armed in hosts[:len(hows)]:  # nothing was loaded yet: disarm what was armed
            with contextlib.suppress(OperationError):  # the first error is the one to tell
                cancel_restore(armed.connection, armed.state.systemd)
        raise
    return hows, Window(min(starts) + timeout, max(starts) + timeout, timeout)


def _load(hosts: list[Rules], say: Say) -> None:
    for index, host in enumerate(hosts):
        moves = " && ".join(f"mv {DIR}/rules.{f}.new {DIR}/rules.{f}" for f in host.rules)
        result = host.connection.run(as_root(host.connection, f"{moves} && {DIR}/load"),
                                       hide=True, warn=True, in_stream=False)
        if result.ok:
            continue
        # The old sessions still work (nothing was confirmed yet): put the old rules back now.
        for loaded in hosts[:index + 1]:
            run_as_root(loaded.connection, f"{DIR}/load restore load-failed",
                 "restoring the previous rules", warn=True)
        for armed in hosts:
            with contextlib.suppress(OperationError):  # then its timer restores: harmless
                cancel_restore(armed.connection, armed.state.systemd)
        where = "" if len(hosts) == 1 else " on every node"
        raise OperationError(f"{host.name}: loading the rules failed, previous rules "
                             f"restored{where}: {(result.stderr + result.stdout).strip()}")
    for host in hosts:
        say(f"{host.name}: rules loaded; confirming with a new SSH connection")


def _confirm_or_wait(hosts: list[Rules], how: str, window: Window, check: Check | None,
                     say: Say) -> Outcome:
    reason = None
    for host in hosts:
        problem = confirm(host.connection)
        if problem is not None:
            say(f"{host.name}: a NEW SSH connection FAILED after applying: {problem}")
            to = "" if len(hosts) == 1 else f" to {host.name}"
            reason = f"the declared rules refused a new SSH connection{to} ({problem})"
            break
    if reason is None and check is not None:
        problem = check(window.first_due - MARGIN)
        if problem is not None:
            say(f"the Swarm FAILED after applying: {problem}")
            reason = f"the Swarm did not keep working under the declared rules ({problem})"
    if reason is None and time.monotonic() > window.first_due - MARGIN:
        reason = f"the confirmation did not end within the timeout ({window.timeout} s)"
    if reason is None:
        _cancel_all(hosts)
        return Outcome(True, how)
    if len(hosts) == 1:
        say(f"{hosts[0].name}: not cancelling the restore; the server puts the previous "
            f"rules back within {window.timeout} s")
    else:
        say(f"not cancelling the restores; every node puts its previous rules back within "
            f"{window.timeout} s")
    return _wait_for_restore(hosts, reason, how, window.last_due, say)


def _cancel_all(hosts: list[Rules]) -> None:
    failed = []
    for host in hosts:
        try:
            cancel_restore(host.connection, host.state.systemd)
        except OperationError as error:
            failed.append(f"{host.name}: {error}")
    if failed:
        raise OperationError("confirmed, but cancelling the restore failed (those hosts put "
                             "their previous rules back when the timer fires; run "
                             "firewall.apply again): " + "; ".join(failed))


def _wait_for_restore(hosts: list[Rules], reason: str, how: str, due: float,
                      say: Say) -> Outcome:
    deadline = due + RESTORE_GRACE
    pending = list(hosts)
    logs: dict[str, str] = {}
    while pending and time.monotonic() < deadline:
        time.sleep(min(5.0, max(0.0, due - time.monotonic()) + 1.0))
        if time.monotonic() < due:
            continue
        for host in list(pending):
            if confirm(host.connection) is None:
                logs[host.name] = _log(host.connection)
                pending.remove(host)
    single = len(hosts) == 1
    if not pending:
        servers = "the server" if single else "every node"
        log = (next(iter(logs.values())) if single
               else "\n".join(f"{name}: {text}" for name, text in logs.items()))
        return Outcome(False, how, f"{reason}; {servers} restored the previous rules itself "
                       f"({how}) and SSH works again. {'Server log' if single else 'Logs'}:"
                       f"\n{log}\nFix the declaration (firewall.plan shows it) and apply "
                       "again.")
    unreached = "the host was" if single else f"{', '.join(t.name for t in pending)} were"
    return Outcome(False, how, f"{reason} and {unreached} still unreachable {RESTORE_GRACE} s "
                   "after the restore was due. Use the provider's console: see pojemnik's "
                   "docs/guides/firewall.md, \"If the restore itself is lost\".")


def _log(connection: Connection) -> str:
    fresh = fresh_connection(connection)
    try:
        open_connection(fresh)
        return run_as_root(fresh, f"tail -n 2 {DIR}/log", "reading the log", warn=True).strip()
    finally:
        close_all(fresh)
