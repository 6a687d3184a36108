"""`jobs.*`: the stack's scheduled jobs, run by the server agent: what is declared with
each one's last run, and a run now."""

from __future__ import annotations

import json

from invoke import Collection, Context, Exit, task

from ..console import say
from ..declaration.model import Stack
from .context import guard, print_table, require_declared, stack_of


@task(name="list", help={"json": "print JSON (one object per job) instead of a table"})
def list_(c: Context, json_: bool = False) -> None:
    """The declared jobs: service, schedule, and the last run's time, exit code, duration."""
    from ..operations.jobs.listing import job_rows
    from ..operations.server.agent import records

    stack = stack_of(c)
    rows = job_rows(stack, guard(lambda: records(c, stack.project)) if stack.jobs else [])
    if json_:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        say(f"{stack.project}: no jobs declared (Stack(jobs=[Job(...)]))")
        return
    print_table(["JOB", "SERVICE", "SCHEDULE", "LAST RUN", "EXIT", "SECONDS"],
                [[r["name"], r["service"], r["schedule"],
                  str((r["last_run"] or {}).get("started") or "never"),
                  str((r["last_run"] or {}).get("exit", "-")),
                  str((r["last_run"] or {}).get("seconds", "-"))] for r in rows])


@task(help={"name": "the declared job to run now"})
def run(c: Context, name: str) -> None:
    """Run a job now on the host, as its timer would (under the deploy lock, in a one-off
    container, recorded); its output streamed, the task exits with its exit code."""
    from ..operations.server.agent import run_now
    from ..planning.jobs import task_name

    stack = stack_of(c)
    require_declared("job", [name], [j.name for j in stack.jobs])
    code = guard(lambda: run_now(c, stack, task_name(name), say))
    if code:
        raise Exit(code=code)


def last_runs(c: Context, stack: Stack) -> list[str]:
    """For `status`: one line per job with its last run on the host."""
    from ..operations.jobs.listing import job_rows, last_run_text
    from ..operations.server.agent import records

    rows = job_rows(stack, guard(lambda: records(c, stack.project)))
    return [f"job {r['name']} ({r['schedule']}): {last_run_text(r)}" for r in rows]


def collection() -> Collection:
    jobs = Collection("jobs")
    jobs.add_task(list_, "list", default=True)
    jobs.add_task(run, "run")
    return jobs
