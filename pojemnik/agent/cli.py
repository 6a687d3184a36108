"""pojemnik-agent [--config FILE] [--state DIR] COMMAND

    run NAME [--now]    run a task (its timer does this); --now: also while backing off
    records [--json]    each task's last run
    tick                run the tasks due since the last tick (cron, where no systemd)
    calendar SCHEDULE   the OnCalendar= and cron forms of a schedule
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from . import config as agent_config
from . import records
from .run import due as due_tasks
from .run import run
from .schedule import ScheduleError, cron_line, on_calendar

DEFAULT_CONFIG = "/etc/pojemnik/{project}/agent.json"
DEFAULT_STATE = "/var/lib/pojemnik/{project}/agent"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="pojemnik-agent", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--config", help="the project's agent.json")
    top.add_argument("--project", help=f"instead of --config: {DEFAULT_CONFIG}")
    top.add_argument("--state", help=f"where records live (default {DEFAULT_STATE})")
    commands = top.add_subparsers(dest="command", required=True)
    one = commands.add_parser("run", help="run one task now")
    one.add_argument("name")
    one.add_argument("--now", action="store_true", help="run even while backing off")
    listing = commands.add_parser("records", help="each task's last run")
    listing.add_argument("--json", action="store_true")
    commands.add_parser("tick", help="run the scheduled tasks due since the last tick")
    calendar = commands.add_parser("calendar", help="a schedule's OnCalendar= and cron")
    calendar.add_argument("schedule")
    return top


def main(argv: list[str] | None = None) -> int:
    options = parser().parse_args(argv)
    if options.command == "calendar":
        return _calendar(options.schedule)
    if options.command == "records" and (options.state or options.project):
        return _records(options.state or DEFAULT_STATE.format(project=options.project),
                        options.json)
    try:
        if options.config is None and options.project is None:
            raise agent_config.AgentError("give --config FILE or --project NAME")
        path = options.config or DEFAULT_CONFIG.format(project=options.project)
        loaded = agent_config.load(path)
        state = options.state or DEFAULT_STATE.format(project=loaded.project)
        if options.command == "run":
            return run(loaded, state, options.name, scheduled=not options.now)
        if options.command == "records":
            return _records(state, options.json)
        code = 0
        for name in due_tasks(loaded, state, datetime.now(UTC)):
            code = max(code, run(loaded, state, name))
        return code
    except agent_config.AgentError as error:
        print(f"pojemnik-agent: {error}", file=sys.stderr)
        return 2


def _calendar(text: str) -> int:
    try:
        print(f"OnCalendar={on_calendar(text)}")
        print(f"cron: {cron_line(text) or '(more than once a minute: no cron form)'}")
    except ScheduleError as error:
        print(f"pojemnik-agent: {error}", file=sys.stderr)
        return 2
    return 0


def _records(state: str, as_json: bool) -> int:
    found = records.read_all(state)
    if as_json:
        print(json.dumps(found, indent=1, sort_keys=True))
        return 0
    if not found:
        print(f"no runs recorded in {state} yet")
    for record in found:
        result = "ok" if record.get("ok") else f"FAILED (exit {record.get('exit')})"
        line = (f"{record.get('name')}: {result}, {record.get('started')}, "
                f"{record.get('seconds')} s")
        if record.get("next_after"):
            line += f"; {record.get('failures')} failures in a row, next after " \
                    f"{record['next_after']}"
        print(line)
    return 0
