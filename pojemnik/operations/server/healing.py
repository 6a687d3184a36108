"""Healing: a watcher on the Docker host that restarts containers which stay unhealthy.

The watcher is a small shell script (`engine/host/pojemnik-heal`) run every 20 s by a
systemd timer on the host: no container holds the Docker socket. Containers opt in with
the label `pojemnik.heal-after=N` (from `Service.heal_after`); each restart is a line in
`/var/log/pojemnik-heal.log` and the journal.
"""

from __future__ import annotations

import shlex
from importlib import resources
from typing import TYPE_CHECKING

from ...console import Say
from ...ssh.channels import run, succeeds
from ...ssh.connection import describe

if TYPE_CHECKING:
    from fabric import Connection

SCRIPT = "/usr/local/lib/pojemnik/pojemnik-heal"
LOG = "/var/log/pojemnik-heal.log"
SERVICE = """[Unit]
Description=pojemnik: restart containers that stay unhealthy
After=docker.service
Requires=docker.service

[Service]
Type=oneshot
ExecStart={script}
"""
TIMER = """[Unit]
Description=pojemnik: look for unhealthy containers every 20 s

[Timer]
OnBootSec=60
OnUnitActiveSec=20
AccuracySec=1

[Install]
WantedBy=timers.target
"""


def script_text() -> str:
    return (resources.files("pojemnik.engine") / "host" / "pojemnik-heal").read_text()


def install(connection: Connection, say: Say) -> None:
    """The script and a systemd timer on the host (root, or passwordless sudo)."""
    sudo = "" if connection.user == "root" else "sudo -n "
    where = describe(connection)
    _write(connection, SCRIPT, script_text(), "0755", sudo)
    if not succeeds(connection, "test -d /run/systemd/system"):
        say(f"{where}: no systemd here; installed {SCRIPT}: run it every 20 s "
            f"(e.g. cron: * * * * * {SCRIPT}; sleep 20; {SCRIPT}; sleep 20; {SCRIPT})")
        return
    _write(connection, "/etc/systemd/system/pojemnik-heal.service",
           SERVICE.format(script=SCRIPT), "0644", sudo)
    _write(connection, "/etc/systemd/system/pojemnik-heal.timer", TIMER, "0644", sudo)
    run(connection, f"{sudo}systemctl daemon-reload && "
                    f"{sudo}systemctl enable --now pojemnik-heal.timer")
    say(f"{where}: pojemnik-heal.timer active (every 20 s); its log: {LOG}")


def _write(connection: Connection, path: str, text: str, mode: str, sudo: str) -> None:
    quoted = shlex.quote(path)
    run(connection, f"{sudo}mkdir -p \"$(dirname {quoted})\" && printf '%s' "
                    f"{shlex.quote(text)} | {sudo}tee {quoted} >/dev/null && "
                    f"{sudo}chmod {mode} {quoted}")


def recent(connection: Connection, lines: int = 20) -> list[str]:
    """What the watcher did lately on the host (its log's last lines)."""
    result = connection.run(f"tail -n {int(lines)} {LOG} 2>/dev/null", hide=True, warn=True,
                            in_stream=False)
    return [line for line in result.stdout.splitlines() if line.strip()]
