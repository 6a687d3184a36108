"""The server agent on the engine's host: its zipapp, the project's `agent.json` (from the
declaration: each capability's tasks) and one systemd timer per scheduled task; its
records read back; a task run now.

Each capability contributes its tasks through one function of the stack, registered in
CONTRIBUTORS with one line. Over invoke's local Context (this machine) or a Fabric
Connection (`fab -H`), as root or with passwordless sudo.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...agent.config import AgentError, from_dict
from ...agent.schedule import on_calendar
from ...console import Say
from ...declaration.model import Stack
from ...errors import OperationError
from ...ssh.channels import finish_channel, open_channel, run, succeeds
from ...ssh.connection import describe
from ..backup import schedule as backup_schedule
from ..jobs.scheduled import agent_tasks as job_tasks
from ..tls.renewal import agent_tasks as tls_tasks
from ..upkeep import watch
from . import _payload as files

if TYPE_CHECKING:
    from fabric import Connection

Contributor = Callable[[Stack], dict[str, dict[str, Any]]]
CONTRIBUTORS: list[Contributor] = [  # one line per capability: its agent_tasks
    job_tasks,
    backup_schedule.agent_tasks,
    watch.agent_tasks,
    tls_tasks,
]
# Top-level keys of agent.json beyond the tasks, and secret files written beside it
# (0600, root's; path -> content), one line per capability.
CONFIG_KEYS: list[Callable[[Stack], dict[str, Any]]] = [watch.agent_config]
SECRET_FILES: list[Callable[[Stack], dict[str, str]]] = [watch.agent_secrets]


def agent_config(stack: Stack) -> dict[str, Any]:
    """The project's agent.json, checked as the agent will read it."""
    tasks: dict[str, dict[str, Any]] = {}
    for contribute in CONTRIBUTORS:
        for name, task in contribute(stack).items():
            if name in tasks:
                raise OperationError(f"two capabilities declare the agent task {name!r}")
            tasks[name] = task
    config: dict[str, Any] = {"project": stack.project, "lock_image": stack.base_image,
                              "tasks": tasks}
    for keys in CONFIG_KEYS:
        config |= keys(stack)
    try:
        from_dict(config, "the agent's config")
    except AgentError as error:
        raise OperationError(str(error)) from error
    return config


def scheduled(stack: Stack) -> dict[str, str]:
    """Each scheduled task's schedule, by name (empty: nothing for the agent to run)."""
    return {name: task["schedule"] for name, task in agent_config(stack)["tasks"].items()
            if task.get("schedule")}


def _sudo(connection: Connection) -> str:
    return "" if run(connection, "id -u").strip() == "0" else "sudo -n "


def _write(connection: Connection, path: str, data: bytes, mode: str, sudo: str,
           folder_mode: str = "0755") -> None:
    """The file's bytes through the command's input (never its arguments: a config may
    hold a service's environment), replaced whole."""
    quoted = shlex.quote(path)
    command = (f"umask 077 && {sudo}install -d -m {folder_mode} \"$(dirname {quoted})\" && "
               f"{sudo}tee {quoted}.new >/dev/null && {sudo}chmod {mode} {quoted}.new && "
               f"{sudo}mv -f {quoted}.new {quoted}")
    if getattr(connection, "host", None) is None:  # invoke's Context: this machine
        done = subprocess.run(["sh", "-c", command], input=data, capture_output=True,
                              check=False)
        if done.returncode != 0:
            raise OperationError(f"this machine: could not write {path}: "
                                 f"{done.stderr.decode(errors='replace').strip()} (root, or "
                                 "passwordless sudo, is needed)")
        return
    connection.open()
    channel = open_channel(connection, command)  # invoke's in_stream: a byte per 10 ms
    channel.sendall(data)
    channel.shutdown_write()
    finish_channel(channel, connection, f"writing {path}")


def can_install(connection: Connection) -> bool:
    """Root here, or passwordless sudo."""
    return run(connection, "id -u").strip() == "0" or succeeds(connection, "sudo -n true")


def install_files(connection: Connection, stack: Stack) -> dict[str, Any]:
    """The zipapp and the project's config, as declared now; the config."""
    config = agent_config(stack)
    if not succeeds(connection, f"command -v {files.PYTHON} >/dev/null"):
        raise OperationError(f"{describe(connection)}: the agent needs {files.PYTHON} "
                             "(Debian's python3: `apt-get install python3-minimal`)")
    if not can_install(connection):
        raise OperationError(f"{describe(connection)}: installing the agent needs root or "
                             "passwordless sudo (e.g. `fab -H root@server agent.install`)")
    sudo = _sudo(connection)
    _write(connection, files.PYZ, files.zipapp(), "0755", sudo)
    _write(connection, files.config_path(stack.project),
           files.config_text(config).encode(), "0600", sudo, folder_mode="0700")
    for secrets in SECRET_FILES:
        for path, content in secrets(stack).items():
            _write(connection, path, content.encode(), "0600", sudo, folder_mode="0700")
    return config


def install(connection: Connection, stack: Stack, say: Say) -> None:
    """The zipapp, the config, the timers of the tasks declared; timers of tasks no longer
    declared removed."""
    config = install_files(connection, stack)
    where, project = describe(connection), stack.project
    calendar = {n: on_calendar(t["schedule"]) for n, t in config["tasks"].items()
                if t.get("schedule")}
    if not succeeds(connection, "test -d /run/systemd/system"):
        say(f"{where}: no systemd here; installed {files.PYZ} and "
            f"{files.config_path(project)}. To run the {len(calendar)} scheduled task(s), "
            f"add this line to /etc/cron.d/pojemnik-{project}:\n  "
            f"{files.cron_file(project).strip()}")
        return
    _timers(connection, project, config["tasks"], calendar, _sudo(connection))
    for name in sorted(calendar):
        say(f"{where}: {files.unit_name(project, name)}.timer: {name} "
            f"({config['tasks'][name]['schedule']}, OnCalendar={calendar[name]})")
    if not calendar:
        say(f"{where}: {project} declares no scheduled work; no timer")


def _timers(connection: Connection, project: str, tasks: dict[str, dict[str, Any]],
            calendar: dict[str, str], sudo: str) -> None:
    wanted = files.units(project, tasks, calendar)
    for name, text in wanted.items():
        _write(connection, f"{files.UNITS}/{name}", text.encode(), "0644", sudo)
    marker = shlex.quote(f"X-Pojemnik-Project={project}")
    listed = connection.run(f"grep -lx {marker} {files.UNITS}/pojemnik-*.timer "
                            f"{files.UNITS}/pojemnik-*.service 2>/dev/null", hide=True,
                            warn=True, in_stream=False).stdout.split()
    stale = sorted(p for p in listed if p.rsplit("/", 1)[-1] not in wanted)
    stale_timers = [p.rsplit("/", 1)[-1] for p in stale if p.endswith(".timer")]
    if stale_timers:
        run(connection, f"{sudo}systemctl disable --now {shlex.join(stale_timers)}")
    if stale:
        run(connection, f"{sudo}rm -f {shlex.join(stale)}")
    timers = [n for n in wanted if n.endswith(".timer")]
    run(connection, f"{sudo}systemctl daemon-reload" +
        (f" && {sudo}systemctl enable --now {shlex.join(timers)}" if timers else ""))


def records(connection: Connection, project: str) -> list[dict[str, Any]]:
    """Each task's last run on the host (empty: the agent never ran there)."""
    command = (f"test -f {files.PYZ} || exit 0; {files.PYTHON} {files.PYZ} "
               f"--state {shlex.quote(files.state_dir(project))} records --json")
    text = run(connection, command).strip()
    try:
        found = json.loads(text) if text else []
    except ValueError as error:
        raise OperationError(f"{describe(connection)}: the agent's records are not JSON: "
                             f"{text[:200]}") from error
    return found if isinstance(found, list) else []


def run_now(connection: Connection, stack: Stack, name: str, say: Say) -> int:
    """Task `name` now, through the agent with the config as declared now (both written
    first), its output streamed; the exit code. The same record as a scheduled run."""
    install_files(connection, stack)
    say(f"{describe(connection)}: pojemnik-agent run {name}")
    command = files.agent_command(stack.project, "run", name, "--now")
    result = connection.run(f"{_sudo(connection)}{command}", warn=True, pty=False,
                            in_stream=False)
    return int(result.exited)
