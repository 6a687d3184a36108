"""The firewall on a server, over SSH: read its state, apply without locking anyone out,
report drift, roll back.

The files on the server (`/etc/pojemnik/firewall/`):

- `rules.v4`, `rules.v6`: the declared rules (iptables-restore format, pojemnik's chains);
- `previous.v4`, `previous.v6`: pojemnik's chains as they were before the last apply;
- `load`: loads `rules.*` with `iptables-restore --noflush` and hooks the chains in front
  (idempotent). Run by apply, after dockerd (re)starts (a `docker.service` drop-in,
  `ExecStartPost`), at boot, and as `load restore` by the dead-man restore, which first
  makes `previous.*` the rules again;
- `log`: one line per load or restore.

Applying (`firewall_apply.safe_apply`): the previous rules are saved, a restore is
scheduled on the server itself (a transient systemd timer where systemd runs, else a
detached `sleep; load restore` process with a pid file), the new rules are loaded, and a
NEW SSH connection must then succeed; only then is the restore cancelled. If it fails, the
server puts the previous rules back by itself when the timer fires, whatever happened to
this SSH session.
"""

from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...errors import OperationError
from ...planning.firewall import (
    CHAINS,
    Facts,
    Opening,
    Ruleset,
    drift,
    parse_save,
    restore_of_live,
)
from ...ssh.connection import describe, open_connection
from ._files import (
    BOOT_UNIT,
    DIR,
    DOCKER_DROP_IN,
    GATHER,
    LOAD_SCRIPT,
    PIDFILE,
    UNIT,
    write_file,
)

if TYPE_CHECKING:
    from fabric import Connection


@dataclass
class ServerState:
    """What a server reports: sshd's ports, our own connection, its live filter rules."""

    facts: Facts
    live: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # family -> chains
    systemd: bool = False
    ipv6: bool = False
    client: str = ""  # our address as the server sees it (SSH_CONNECTION)
    files: dict[str, str] = field(default_factory=dict)  # rules.v4 ... as stored
    pending_restore: bool = False


def as_root(connection: Connection, script: str) -> str:
    quoted = shlex.quote(script)
    return f"sh -c {quoted}" if connection.user == "root" else f"sudo -n sh -c {quoted}"


def run_as_root(connection: Connection, script: str, what: str, warn: bool = False) -> str:
    result = connection.run(as_root(connection, script), hide=True, warn=True, in_stream=False)
    if not result.ok and not warn:
        text = (result.stderr + result.stdout).strip()
        if "password is required" in text or "sudo:" in text:
            raise OperationError(f"{describe(connection)}: {what} needs root: connect as root "
                                 f"or give {connection.user} passwordless sudo ({text})")
        raise OperationError(f"{describe(connection)}: {what} failed (exit {result.exited}): "
                             f"{text}")
    return str(result.stdout)


def gather(connection: Connection) -> ServerState:
    """One round trip: sshd's listening ports, systemd, IPv6, our files, the live rules."""
    open_connection(connection)
    who = connection.run("echo \"$SSH_CONNECTION\"", hide=True, warn=True, in_stream=False)
    output = run_as_root(connection, GATHER, "reading the firewall state")
    return parse_state(output, str(who.stdout).strip())


def parse_state(output: str, ssh_connection: str) -> ServerState:
    """Pure: the output of GATHER (and $SSH_CONNECTION) -> ServerState."""
    ports: set[int] = set()
    state = ServerState(Facts())
    sections: dict[str, list[str]] = {"v4": [], "v6": []}
    current: str | None = None
    for line in output.splitlines():
        if line.startswith("=== "):
            current = line[4:].strip()
            continue
        if current in sections:
            sections[current].append(line)
        elif line.startswith("sshd-listen "):
            port = line.split()[1].rpartition(":")[2]
            if port.isdigit():
                ports.add(int(port))
        elif line == "systemd":
            state.systemd = True
        elif line == "ipv6":
            state.ipv6 = True
        elif line == "pending":
            state.pending_restore = True
        elif line.startswith("file "):
            _, name, *data = line.split(" ")
            state.files[name] = base64.b64decode("".join(data)).decode() if data else ""
    parts = ssh_connection.split()
    if len(parts) == 4:
        state.client = parts[0]
        if parts[3].isdigit():
            ports.add(int(parts[3]))  # the port our own connection arrived on
    state.facts = Facts(tuple(sorted(ports)) or (22,), from_server=bool(ports))
    state.live = {family: parse_save("\n".join(lines)) for family, lines in sections.items()}
    return state


def locks_out(openings: list[Opening], client: str, ssh_port: int) -> bool:
    """Would these openings refuse a new SSH connection from `client` (as the server sees
    it) to `ssh_port`? Pure; used to warn before applying."""
    import ipaddress

    if not client:
        return False
    address = ipaddress.ip_address(client)
    for opening in openings:
        if opening.port == ssh_port and opening.protocol == "tcp":
            if not opening.sources:
                return False
            if any(address in ipaddress.ip_network(s) for s in opening.sources):
                return False
    return True


def install(connection: Connection, state: ServerState, rules: dict[str, str]) -> None:
    """Write the loader, the persistence hooks, previous.* (the live chains now) and the
    new rules as `rules.*.new` (loaded later by `activate`)."""
    steps = [f"mkdir -p {DIR} && chmod 700 {DIR}", write_file(f"{DIR}/load", LOAD_SCRIPT, "0755")]
    for family in rules:
        previous = restore_of_live(state.live.get(family, {}), family)
        steps.append(write_file(f"{DIR}/previous.{family}", previous.restore_text(
            ["pojemnik: the chains as they were before the last apply"])))
        steps.append(write_file(f"{DIR}/rules.{family}.new", rules[family]))
    if state.systemd:
        steps += ["mkdir -p /etc/systemd/system/docker.service.d",
                  write_file("/etc/systemd/system/docker.service.d/pojemnik-firewall.conf",
                         DOCKER_DROP_IN),
                  write_file("/etc/systemd/system/pojemnik-firewall.service", BOOT_UNIT),
                  "systemctl daemon-reload && systemctl enable -q pojemnik-firewall.service"]
    run_as_root(connection, " && ".join(steps), "writing the firewall files")


def schedule_restore(connection: Connection, seconds: int, systemd: bool) -> str:
    """The dead-man: on the server, independent of this SSH session, restore previous.*
    after `seconds` unless cancelled. Returns how ("systemd timer" or "detached process")."""
    if systemd:
        run_as_root(connection, f"systemctl stop {UNIT}.timer {UNIT}.service 2>/dev/null; "
                    f"systemctl reset-failed {UNIT}.timer {UNIT}.service 2>/dev/null; "
                    f"systemd-run -q --unit {UNIT} --on-active={seconds}s "
                    f"--timer-property=AccuracySec=1s {DIR}/load restore dead-man-timer",
                    "scheduling the restore")
        return "systemd timer"
    cancel_restore(connection, systemd=False)
    run_as_root(connection, f"setsid nohup sh -c 'sleep {seconds}; exec {DIR}/load restore "
                f"dead-man-timer' >/dev/null 2>&1 </dev/null & echo $! > {PIDFILE}",
                "scheduling the restore")
    return "detached process"


def cancel_restore(connection: Connection, systemd: bool) -> None:
    if systemd:
        run_as_root(connection, f"systemctl stop {UNIT}.timer 2>/dev/null; "
                    f"systemctl reset-failed {UNIT}.timer {UNIT}.service 2>/dev/null; true",
                    "cancelling the restore")
        return
    # Only the process we started: its command line names `load restore`.
    run_as_root(connection, f"if [ -f {PIDFILE} ]; then pid=$(cat {PIDFILE}); "
                f"if grep -q 'load restore' /proc/$pid/cmdline 2>/dev/null; then "
                f"kill -- -$pid 2>/dev/null || kill $pid; fi; rm -f {PIDFILE}; fi",
                "cancelling the restore")


def fresh_connection(connection: Connection) -> Connection:
    """A second, independent SSH connection to the same host, same login and checks; a
    node reached through the manager is reached through a new connection to it too."""
    from fabric import Connection as FabricConnection

    gateway = connection.gateway
    return FabricConnection(connection.host, user=connection.user, port=connection.port,
                            config=connection.config,
                            gateway=fresh_connection(gateway)
                            if isinstance(gateway, FabricConnection) else gateway,
                            connect_timeout=connection.connect_timeout,
                            connect_kwargs=dict(connection.connect_kwargs))


def close_all(connection: Connection) -> None:
    """Close the connection and the gateways it was made through."""
    from fabric import Connection as FabricConnection

    connection.close()
    if isinstance(connection.gateway, FabricConnection):
        close_all(connection.gateway)


def confirm(connection: Connection) -> str | None:
    """Open a NEW connection and run a command; None if that worked, else why not."""
    fresh = fresh_connection(connection)
    try:
        open_connection(fresh)
        result = fresh.run("true", hide=True, warn=True, in_stream=False)
        return None if result.ok else f"a command over it failed (exit {result.exited})"
    except OperationError as error:
        return str(error)
    except Exception as error:  # paramiko/socket errors that open_connection did not map
        return f"{type(error).__name__}: {error}"
    finally:
        close_all(fresh)


def live_summary(state: ServerState) -> dict[str, list[str]]:
    """The live rules of pojemnik's chains, per family."""
    return {family: [r for chain in CHAINS for r in chains.get(chain, [])]
            for family, chains in state.live.items()}


def drift_of(state: ServerState, rulesets: list[Ruleset]) -> list[str]:
    found = []
    for ruleset in rulesets:
        found += drift(ruleset, state.live.get(ruleset.family, {}))
    return found
