"""Checks of the scheduled jobs (`Stack(jobs=[Job(...)])`): a name the agent and systemd
can use, once; a declared service; a command; a schedule that parses; bounded times."""

from __future__ import annotations

import re
from collections.abc import Callable

from ...agent.schedule import ScheduleError, parse
from ..jobs import Job
from ..model import Stack
from ..suggest import suggesting
from ..swarm import SWARM

Add = Callable[..., None]  # field, message, fix[, value]
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def check_jobs(stack: Stack, add: Add) -> None:
    services = [s.name for s in stack.services]
    seen: set[str] = set()
    for index, job in enumerate(stack.jobs):
        if not isinstance(job, Job):
            add(f"jobs[{index}]", f"{job!r} is not a Job",
                'declare each as Job("name", service=..., command=..., schedule=...)')
            continue
        field = f"jobs.{job.name}" if isinstance(job.name, str) and job.name else \
            f"jobs[{index}]"
        if not isinstance(job.name, str) or not NAME.fullmatch(job.name):
            add(f"{field}.name", f"{job.name!r} is not a job name",
                "use lowercase letters, digits, - and _ (at most 40), e.g. \"clearsessions\"",
                job.name)
        elif job.name in seen:
            add(f"{field}.name", f"two jobs are named {job.name!r}",
                "give each job its own name", job.name)
        seen.add(str(job.name))
        _fields(stack, job, field, services, add)
    if stack.jobs and stack.target == SWARM:
        add("jobs", "the Swarm target does not run scheduled jobs yet (the agent runs "
            "one-off containers on one engine)",
            "drop jobs for the Swarm target, or run the command from the host's cron with "
            "`docker exec` in a running task of the service")


def _fields(stack: Stack, job: Job, field: str, services: list[str], add: Add) -> None:
    if job.service not in services:
        add(f"{field}.service", f"no service {job.service!r} in the stack",
            suggesting(str(job.service), services,
                       f"use one of {', '.join(services) or '(none declared)'}"),
            job.service)
    if not isinstance(job.command, str) or not job.command.strip():
        add(f"{field}.command", f"command={job.command!r} is not a command",
            'give the command as one string, e.g. command="python3 manage.py clearsessions"',
            job.command)
    try:
        parse(job.schedule)
    except ScheduleError as error:
        add(f"{field}.schedule", str(error), 'e.g. schedule="daily" or "30 3 * * *"',
            job.schedule)
    if not _seconds(job.timeout) or job.timeout <= 0:
        add(f"{field}.timeout", f"timeout={job.timeout!r} is not a number of seconds above 0",
            "give the seconds a run may take before it is killed (3600 is the default)",
            job.timeout)
    if not _seconds(job.lock_wait) or job.lock_wait < 0:
        add(f"{field}.lock_wait", f"lock_wait={job.lock_wait!r} is not a number of seconds",
            "give the seconds a run may wait for a deploy to finish (600 is the default)",
            job.lock_wait)


def _seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
