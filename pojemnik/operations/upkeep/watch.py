"""The server's own alert checks, as the agent's installer takes them (registered in
operations/server/agent.py): the `alerts` task (`pojemnik-agent check` on its own timer,
at `Alerts.every`), the `checks` and `channels` keys of the agent's config, and the secret
files beside it (0600). And, for `status`, the open incidents read from the agent's
state directory (here, or on the server over SSH)."""

from __future__ import annotations

from typing import Any

from ...agent.alerts.check import STATE_FILE, incidents_in, parse_state
from ...agent.cli import DEFAULT_CONFIG, DEFAULT_STATE
from ...declaration.model import Stack
from ...hostfiles.files import HostFiles
from ...planning import alert_checks

PYTHON = "/usr/bin/python3"  # as operations/server/_payload.py installs the agent
AGENT = "/usr/local/lib/pojemnik/pojemnik-agent.pyz"
TIMEOUT = 300  # seconds a whole check run may take (each request has its own timeout)


def config_path(project: str) -> str:
    return DEFAULT_CONFIG.format(project=project)


def config_dir(project: str) -> str:
    return config_path(project).rsplit("/", 1)[0]


def state_dir(project: str) -> str:
    return DEFAULT_STATE.format(project=project)


def where(stack: Stack) -> alert_checks.Where:
    return alert_checks.Where(config_dir(stack.project))


def agent_tasks(stack: Stack) -> dict[str, dict[str, Any]]:
    """The check run as an agent task: its own timer, no deploy lock (it only reads; it
    skips the containers while a deploy holds the lock), no backoff (each run counts)."""
    if stack.alerts is None:
        return {}
    argv = [PYTHON, AGENT, "--config", config_path(stack.project), "--state",
            state_dir(stack.project), "check"]
    return {"alerts": {"steps": [{"argv": argv}], "timeout": TIMEOUT,
                       "schedule": stack.alerts.every, "backoff": None, "lock": False}}


def agent_config(stack: Stack) -> dict[str, Any]:
    """The config's `checks` and `channels` keys ({} without alerts)."""
    return alert_checks.config(stack, where(stack))


def agent_secrets(stack: Stack) -> dict[str, str]:
    """path -> content, to be written 0600: never in the config, never printed."""
    return alert_checks.secret_files(stack, where(stack))


def open_incidents(stack: Stack, files: HostFiles) -> list[dict[str, Any]] | None:
    """The open incidents on the engine's host; None: no alerts declared and the checks
    never ran there."""
    text = files.read(state_dir(stack.project), STATE_FILE)
    if text is None and stack.alerts is None:
        return None
    return incidents_in(parse_state(text or "")["checks"])


def incident_lines(found: list[dict[str, Any]]) -> list[str]:
    if not found:
        return ["alerts: no open incidents"]
    lines = [f"alerts: {len(found)} open incident(s)"]
    for incident in found:
        flapping = " (flapping)" if incident["flapping"] else ""
        lines.append(f"  {incident['check']}: since {incident['since']}{flapping}: "
                     f"{incident['detail']}")
    return lines
