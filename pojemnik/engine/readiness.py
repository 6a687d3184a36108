"""Ready the moment the service says so: its own health command, probed right after start.

Docker's health status changes only every `interval` (after `start_period`), so waiting
for it costs seconds per dependency wave. Instead the container's health command (the
declared `Healthcheck.test`, else the image's HEALTHCHECK: both end up in the container's
`Config.Healthcheck.Test`) is run with `exec` on a short backoff, 50 ms doubling to
0.2 s (capped at 0.5 s, a service was found ready up to half a second late, on every
dependency wave of a deploy).
Docker's own healthcheck keeps running for monitoring.
"""

from __future__ import annotations

import time
from typing import Any

import docker

from ..errors import DockerError

FIRST_DELAY = 0.05
MAX_DELAY = 0.2
HEALTHY = "healthy"
PROBED_HEALTHY = "healthy (probed)"  # Docker still says "starting": its first check is due
NO_HEALTHCHECK = "running (no healthcheck)"


class NotReady(DockerError):
    """The container exited, or its health command did not pass in time."""


def health_command(config: dict[str, Any]) -> list[str] | None:
    """The command a container's healthcheck runs, as an exec argument list (None: none)."""
    test = list((config.get("Healthcheck") or {}).get("Test") or [])
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return test[1:] or None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return test


def wait_ready(api: docker.APIClient, name: str, timeout: float) -> str:
    """Until the health command passes (HEALTHY) or, with none, the container runs
    (NO_HEALTHCHECK). Raises NotReady with the last log lines and probe output."""
    deadline = time.monotonic() + timeout
    info = api.inspect_container(name)
    command = health_command(info["Config"])
    delay, output, state = FIRST_DELAY, "", info["State"]
    while True:
        if state["Status"] in ("exited", "dead") or state.get("Restarting"):
            break
        if state["Status"] == "running":
            if command is None:
                return NO_HEALTHCHECK
            code, output = probe(api, name, command)
            if code == 0:
                return HEALTHY
        if time.monotonic() + delay > deadline:
            break
        time.sleep(delay)
        delay = min(delay * 2, MAX_DELAY)
        state = api.inspect_container(name)["State"]
    raise _not_ready(api, name, state, command, output, timeout)


def probe(api: docker.APIClient, name: str, command: list[str]) -> tuple[int, str]:
    """Run the health command once: its exit code (-1: could not run) and output."""
    try:
        run = api.exec_create(name, command, stdout=True, stderr=True)
        output = api.exec_start(run["Id"]).decode(errors="replace")
        code = api.exec_inspect(run["Id"])["ExitCode"]
    except docker.errors.APIError as error:  # e.g. not running (yet, or any more)
        return -1, str(error)
    return int(code if code is not None else -1), output


def _not_ready(api: docker.APIClient, name: str, state: dict[str, Any],
               command: list[str] | None, output: str, timeout: float) -> NotReady:
    logs = api.logs(name, tail=20).decode(errors="replace").rstrip()
    if state["Status"] in ("exited", "dead") or state.get("Restarting"):
        why = f"it stopped (state {state['Status']}, exit code {state.get('ExitCode')})"
    else:
        why = f"its health command did not pass within {timeout:g} s"
    probe = " ".join(command) if command else ""
    return NotReady(
        f"{name} is not ready: {why}.\n"
        + (f"last output of `{probe}`: {output.strip() or '(none)'}\n" if probe else "")
        + (f"last log lines:\n{logs}" if logs else "no log output"))
