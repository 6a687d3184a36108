"""The pure parts of talking to a server: reading its state, and the lock-out warning."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest
from invoke import Context, Exit

from pojemnik.operations.firewall.server import (
    BOOT_UNIT,
    DIR,
    DOCKER_DROP_IN,
    LOAD_SCRIPT,
    locks_out,
    parse_state,
)
from pojemnik.planning.firewall import Opening
from pojemnik.tasks.firewall import apply, rollback, status

RULES_V4 = base64.b64encode(b"*filter\nCOMMIT\n").decode()
OUTPUT = "\n".join([
    "sshd-listen 0.0.0.0:2222",
    "sshd-listen [::]:2222",
    "ipv6",
    "pending",
    f"file rules.v4 {RULES_V4}",
    "=== v4",
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":POJEMNIK-INPUT - [0:0]",
    "-A INPUT -j POJEMNIK-INPUT",
    "-A POJEMNIK-INPUT -j DROP",
    "COMMIT",
    "=== v6",
])


def test_parse_state() -> None:
    state = parse_state(OUTPUT, "10.214.3.1 50000 10.214.3.2 22")
    assert state.facts.ssh_ports == (22, 2222) and state.facts.from_server
    assert state.client == "10.214.3.1"
    assert state.ipv6 and state.pending_restore and not state.systemd
    assert state.files == {"rules.v4": "*filter\nCOMMIT\n"}
    assert state.live["v4"]["POJEMNIK-INPUT"] == ["-A POJEMNIK-INPUT -j DROP"]
    assert state.live["v6"] == {}


def test_without_facts_ssh_is_assumed_on_22() -> None:
    state = parse_state("=== v4\n=== v6\n", "")
    assert state.facts.ssh_ports == (22,) and not state.facts.from_server


def test_locks_out() -> None:
    anyone = [Opening(22, "tcp")]
    office = [Opening(22, "tcp", ("192.0.2.0/24",))]
    assert not locks_out(anyone, "10.214.3.1", 22)
    assert locks_out(office, "10.214.3.1", 22)
    assert not locks_out(office, "192.0.2.9", 22)
    assert locks_out([Opening(80, "tcp")], "10.214.3.1", 22)
    assert not locks_out(office, "", 22)  # unknown: no warning


def test_the_loader_never_flushes_dockers_chains() -> None:
    assert "--noflush" in LOAD_SCRIPT
    assert " -F" not in LOAD_SCRIPT and " -X" not in LOAD_SCRIPT
    assert "DOCKER-USER" in LOAD_SCRIPT


def test_persistence_hooks_rerun_the_loader_after_dockerd_starts_and_at_boot() -> None:
    # "-": systemd ignores the loader's exit code, so a failed load never keeps Docker down.
    assert f"ExecStartPost=-{DIR}/load" in DOCKER_DROP_IN
    assert f"ExecStart={DIR}/load" in BOOT_UNIT and "WantedBy=multi-user.target" in BOOT_UNIT


def test_acting_tasks_need_a_server_and_say_so() -> None:
    for body in (apply, status, rollback):
        with pytest.raises(Exit) as stopped:
            body(Context())
        assert "fab -H root@server firewall." in str(stopped.value.message)
        assert stopped.value.code == 2


def test_a_loader_that_fails_says_so_loudly_and_leaves_the_rules(tmp_path: Path) -> None:
    """The loader itself, run by /bin/sh in a directory of its own, with an
    iptables-restore that refuses the rules (stand-ins on PATH record what ran)."""
    stub = tmp_path / "bin"
    stub.mkdir()
    for name, body in {"iptables-restore": "cat >/dev/null; exit 1",
                       "iptables": "exit 0",
                       "logger": 'echo "$*" >> "$LOGGED"'}.items():
        (stub / name).write_text(f"#!/bin/sh\n{body}\n")
        (stub / name).chmod(0o755)
    rules = tmp_path / "fw"
    rules.mkdir()
    (rules / "rules.v4").write_text("*filter\nCOMMIT\n")
    script = tmp_path / "load"
    script.write_text(LOAD_SCRIPT.replace(DIR, str(rules)))
    env = {**os.environ, "PATH": f"{stub}:{os.environ['PATH']}",
           "LOGGED": str(tmp_path / "logged")}
    result = subprocess.run(["sh", str(script)], env=env, text=True, capture_output=True,
                            timeout=60)
    assert result.returncode == 1  # `firewall.apply` learns it failed
    assert "FAILED; the previous rules stay" in result.stderr
    assert "-p daemon.err" in (tmp_path / "logged").read_text()  # the journal
    assert (rules / "rules.v4").read_text() == "*filter\nCOMMIT\n"
    assert "loaded rules (exit 1)" in (rules / "log").read_text()
