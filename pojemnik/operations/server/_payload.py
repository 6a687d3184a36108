"""The server agent's files, as bytes and text: the zipapp, its config, its systemd units.
Pure (the package's own files are read, nothing is written)."""

from __future__ import annotations

import io
import json
import shlex
import zipfile
from importlib import resources
from typing import Any

PYZ = "/usr/local/lib/pojemnik/pojemnik-agent.pyz"
UNITS = "/etc/systemd/system"
PYTHON = "/usr/bin/python3"
MAIN = "from pojemnik.agent.cli import main\n\nraise SystemExit(main())\n"
PACKAGE = '"""pojemnik\'s server agent, alone (see pojemnik/agent)."""\n'


def config_path(project: str) -> str:
    return f"/etc/pojemnik/{project}/agent.json"


def state_dir(project: str) -> str:
    return f"/var/lib/pojemnik/{project}/agent"


def unit_name(project: str, task: str) -> str:
    return f"pojemnik-{project}-{task}"


def zipapp() -> bytes:
    """The agent as a zipapp for the server's python3: its package's modules, a bare
    `pojemnik/__init__.py` (the real one imports the rest of pojemnik), a `__main__`."""
    buffer = io.BytesIO()
    buffer.write(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_entry("__main__.py"), MAIN)
        archive.writestr(_entry("pojemnik/__init__.py"), PACKAGE)
        folder = resources.files("pojemnik.agent")
        for item in sorted(folder.iterdir(), key=lambda i: i.name):
            if item.name.endswith(".py"):
                archive.writestr(_entry(f"pojemnik/agent/{item.name}"), item.read_bytes())
    return buffer.getvalue()


def _entry(name: str) -> zipfile.ZipInfo:
    """Fixed times and modes: the same package makes the same bytes (no needless rewrite)."""
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def config_text(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=1, sort_keys=True) + "\n"


def agent_command(project: str, *words: str) -> str:
    return shlex.join([PYTHON, PYZ, "--config", config_path(project), "--state",
                       state_dir(project), *words])


def units(project: str, tasks: dict[str, dict[str, Any]],
          calendar: dict[str, str]) -> dict[str, str]:
    """`pojemnik-<project>-<task>.service` and `.timer` for each scheduled task, by file
    name. `calendar`: each task's OnCalendar= value."""
    files = {}
    for name, task in sorted(tasks.items()):
        if name not in calendar:
            continue
        unit = unit_name(project, name)
        limit = int(task["timeout"]) + int(task.get("lock_wait", 300)) + 120
        files[f"{unit}.service"] = (
            f"[Unit]\nDescription=pojemnik {project}: {name}\n"
            f"X-Pojemnik-Project={project}\nAfter=docker.service\nRequires=docker.service\n\n"
            f"[Service]\nType=oneshot\nExecStart={agent_command(project, 'run', name)}\n"
            f"TimeoutStartSec={limit}\n")
        files[f"{unit}.timer"] = (
            f"[Unit]\nDescription=pojemnik {project}: {name} ({task['schedule']})\n"
            f"X-Pojemnik-Project={project}\n\n"
            f"[Timer]\nOnCalendar={calendar[name]}\nPersistent=true\nAccuracySec=1s\n\n"
            "[Install]\nWantedBy=timers.target\n")
    return files


def cron_file(project: str) -> str:
    """What a server without systemd puts in /etc/cron.d: the agent's `tick` every
    minute runs whichever task is due."""
    return f"* * * * * root {agent_command(project, 'tick')}\n"
