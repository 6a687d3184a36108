"""`pojemnik-agent check`: every declared check once, the incidents they open or resolve,
the messages those call for sent through every channel, the state saved (`alerts.json`
in the agent's state directory), one log line per finding. Bounded: one state file of
at most WINDOW results per check, at most one message due per check and channel.

While a deploy holds the project's lock (its container `<project>.lock` runs), the checks
of the sites, containers and memory are skipped (their state kept): a deploy replaces
containers, which is not an incident."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from . import incidents, probes, stored
from .docker_api import DockerAPI, EngineError

STATE_FILE = "alerts.json"
ENGINE_GROUPS = ("site ", "container ", "memory ")

Print = Callable[[str], None]


def check(config: Mapping[str, Any], state_dir: str, say: Print = print,
          now: datetime | None = None) -> int:
    """0 when the checks ran and every message due went out (failing checks are told
    through the incidents, not the exit code), 1 when a message could not go."""
    now = now or datetime.now(UTC)
    checks, project = config.get("checks") or {}, str(config.get("project", ""))
    saved = load_state(state_dir)
    restarts: dict[str, int] = dict(saved.get("restarts", {}))
    results, skipped = gather(checks, project, restarts, saved["checks"], now, say)
    channels_config = dict(config.get("channels") or {})
    channels = sorted(name for name, value in channels_config.items() if value)
    states, due = incidents.run(saved["checks"], results, now.isoformat(timespec="seconds"),
                                int(checks.get("open_after", 2)),
                                int(checks.get("resolve_after", 2)), channels, skipped)
    failed_sends = deliver(project, states, due, channels_config, now, say)
    save_state(state_dir, {"checks": {n: s.as_json() for n, s in states.items()},
                           "restarts": restarts})
    failing = sorted(n for n, r in results.items() if not r.passed)
    for name in failing:
        say(f"failing: {name}: {results[name].detail}")
    opened = [name for name, _ in incidents.open_incidents(states)]
    say(f"alerts: {len(results)} checks, {len(failing)} failing, {len(skipped)} skipped; "
        f"open incidents: {', '.join(opened) or 'none'}")
    return 1 if failed_sends else 0


def gather(checks: Mapping[str, Any], project: str, restarts: dict[str, int],
           before: Mapping[str, incidents.CheckState], now: datetime, say: Print
           ) -> tuple[dict[str, incidents.Result], list[str]]:
    api = DockerAPI(checks.get("docker", "/var/run/docker.sock"))
    results: dict[str, incidents.Result] = {}
    try:
        info = api.info()
        locked = bool(project) and _running(api.inspect(f"{project}.lock"))
    except EngineError as error:
        results["engine"] = incidents.Result(False, f"{error}: is dockerd running? "
                                                    "`systemctl status docker`")
        info, locked = {}, True
    else:
        results["engine"] = incidents.Result(True)
    skipped = [n for n in before if n.startswith(ENGINE_GROUPS)] if locked else []
    if locked and results["engine"].passed:
        say(f"alerts: {project}.lock is held (a deploy runs): the sites, containers and "
            "memory are checked next time")
    parts: list[tuple[str, Callable[[], dict[str, incidents.Result]]]] = [
        ("disk", lambda: stored.disk(checks.get("disk") or {}, info.get("DockerRootDir"))),
    ]
    if not locked:
        declared = dict(checks.get("containers") or {})
        if checks.get("sites"):
            parts.append(("sites", lambda: probes.sites(checks["sites"])))
        parts.append(("containers", lambda: probes.containers(api, declared, restarts)))
        if checks.get("memory"):
            parts.append(("memory", lambda: probes.memory(api, checks["memory"], declared)))
    if checks.get("certificate") and results["engine"].passed:
        parts.append(("certificate",
                      lambda: stored.certificate(api, checks["certificate"], now)))
    if checks.get("backup"):
        parts.append(("backup", lambda: stored.backup(checks["backup"], now)))
    if checks.get("firewall"):
        parts.append(("firewall", lambda: stored.firewall(checks["firewall"])))
    for group, run in parts:
        try:
            results.update(run())
        except (EngineError, OSError, ValueError, KeyError) as error:
            say(f"alerts: the {group} checks could not run: {type(error).__name__}: {error}")
            skipped += [n for n in before if n.split(" ")[0] == group.rstrip("s")]
    return results, skipped


def deliver(project: str, states: dict[str, incidents.CheckState], due: list[incidents.Due],
            channels: Mapping[str, Any], now: datetime, say: Print) -> int:
    """Send each due message; one that did not go stays due (tried on the next run)."""
    if not due:
        return 0
    alerts = []
    for message in due:
        detail = message.detail
        if message.state == "flapping":
            detail = (f"it keeps changing between failing and passing; no more messages "
                      f"until it is steady for {incidents.WINDOW} runs. Last found: {detail}")
        alerts.append({"channel": message.channel, "project": project,
                       "state": message.state, "check": message.check, "detail": detail,
                       "at": now.isoformat(timespec="seconds")})
    failed = 0
    for message, result in zip(due, send_apart(channels, alerts), strict=True):
        if result["ok"]:
            states[message.check] = incidents.sent(states[message.check], message)
            say(f"sent: {message.state} {message.check} via {result['channel']}")
        else:
            failed += 1
            say(f"NOT SENT: {message.state} {message.check} via {result['channel']}: "
                f"{result['detail']} (kept, tried again next run)")
    return failed


SENDER = ("import sys; sys.path.insert(0, sys.argv[1]); "
          "from pojemnik.agent.alerts.send import serve; serve()")


def send_apart(channels: Mapping[str, Any], alerts: list[dict[str, str]]
               ) -> list[dict[str, Any]]:
    """The messages sent by a child process of their own: smtplib, ssl and http.client
    (8 MiB) are loaded there, never beside the checks, so neither process nears the
    agent's 20 MiB. One result per message, in order; the child's failure fails them."""
    import subprocess
    import sys

    root = __file__
    for _ in range(4):  # .../pojemnik/agent/alerts/check.py -> the zipapp or the checkout
        root = os.path.dirname(root)
    try:
        child = subprocess.run([sys.executable, "-I", "-c", SENDER, root],
                               input=json.dumps({"channels": channels, "messages": alerts}),
                               capture_output=True, text=True, check=False,
                               timeout=60 + 60 * len(alerts))
        results = [json.loads(line) for line in child.stdout.splitlines() if line.strip()]
        why = (child.stderr.strip().splitlines() or [f"exit {child.returncode}"])[-1]
    except (OSError, ValueError, subprocess.SubprocessError) as error:
        results, why = [], f"{type(error).__name__}: {error}"
    return [*results, *({"ok": False, "channel": a["channel"],
                         "detail": f"the sender stopped: {why}"}
                        for a in alerts[len(results):])][:len(alerts)]


def load_state(state_dir: str) -> dict[str, Any]:
    try:
        with open(os.path.join(state_dir, STATE_FILE)) as handle:
            text = handle.read()
    except OSError:
        text = ""
    return parse_state(text)


def parse_state(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}
    checks = {str(n): incidents.CheckState.from_json(s)
              for n, s in dict(data.get("checks", {})).items()}
    return {"checks": checks, "restarts": dict(data.get("restarts", {}))}


def save_state(state_dir: str, data: Mapping[str, Any]) -> None:
    """Replaced whole: a run killed half-way leaves the previous state. Readable by the
    deploy user (`status` reads it over SSH): no secret is in it."""
    os.makedirs(state_dir, mode=0o755, exist_ok=True)
    temporary = os.path.join(state_dir, f".{STATE_FILE}.{os.getpid()}")
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                   "w") as out:
        json.dump(data, out)
    os.replace(temporary, os.path.join(state_dir, STATE_FILE))


def open_incidents(state_dir: str) -> list[dict[str, Any]]:
    return incidents_in(load_state(state_dir)["checks"])


def incidents_in(states: Mapping[str, incidents.CheckState]) -> list[dict[str, Any]]:
    """What `status` shows: each open incident, since when, what was found."""
    return [{"check": name, "since": state.since, "detail": state.detail,
             "flapping": state.changes() > incidents.FLAP_CHANGES}
            for name, state in incidents.open_incidents(states)]


def _running(data: Mapping[str, Any] | None) -> bool:
    return bool(data and (data.get("State") or {}).get("Running"))
