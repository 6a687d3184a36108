"""Scheduled jobs, pure parts: what is checked in the declaration (every bad field named,
with its fix), the agent task a job becomes (a one-off container of its service, as
`invoke run` makes it, with its environment's values kept out of the commands), the
example's clearsessions, and `jobs.list`'s rows from the agent's records."""

from __future__ import annotations

from dataclasses import replace

import pytest
from stackbuilders import DB_PASSWORD, one
from swarmbuilders import on_swarm

from pojemnik import Job, Stack
from pojemnik.agent.config import from_dict
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.operations.jobs.listing import job_rows, last_run_text
from pojemnik.operations.server.agent import agent_config, scheduled
from pojemnik.planning.jobs import agent_task, create_argv, job_spec
from pojemnik.planning.oneoff import oneoff_spec

NIGHTLY = Job("cleanup", service="php", command="php cleanup.php", schedule="30 3 * * *")


def with_jobs(stack: Stack, *jobs: Job) -> Stack:
    return replace(stack, jobs=list(jobs))


def test_a_job_is_valid_on_the_host_target(stack: Stack) -> None:
    assert check_declaration(with_jobs(stack, NIGHTLY, replace(NIGHTLY, name="hourly-x",
                                                               schedule="hourly"))) == []


@pytest.mark.parametrize(("changes", "field", "words", "fix"), [
    ({"service": "phpp"}, "jobs.cleanup.service", "no service 'phpp' in the stack",
     "did you mean 'php'?"),
    ({"schedule": "nightly"}, "jobs.cleanup.schedule", "'nightly' is not a schedule",
     'schedule="daily"'),
    ({"schedule": "every 7m"}, "jobs.cleanup.schedule", "does not divide an hour evenly",
     'schedule="daily"'),
    ({"schedule": "0 3 * * * *"}, "jobs.cleanup.schedule", "is not a schedule", "daily"),
    ({"timeout": 0}, "jobs.cleanup.timeout", "not a number of seconds above 0", "3600"),
    ({"timeout": "1h"}, "jobs.cleanup.timeout", "not a number of seconds", "seconds"),
    ({"lock_wait": -1}, "jobs.cleanup.lock_wait", "not a number of seconds", "600"),
    ({"command": " "}, "jobs.cleanup.command", "is not a command", "command="),
    ({"name": "Nightly Cleanup"}, "jobs.Nightly Cleanup.name", "is not a job name",
     "lowercase"),
])
def test_a_bad_job_names_its_field_and_the_fix(stack: Stack, changes: dict[str, object],
                                               field: str, words: str, fix: str) -> None:
    job = replace(NIGHTLY, **changes)  # type: ignore[arg-type]
    problem = one(check_declaration(with_jobs(stack, job)))
    assert problem.where == f"stack.py: {field}"
    assert words in problem.message and fix in problem.fix


def test_two_jobs_of_one_name_and_jobs_on_the_swarm_are_refused(stack: Stack) -> None:
    again = replace(NIGHTLY, schedule="daily")
    twice = one(check_declaration(with_jobs(stack, NIGHTLY, again)))
    assert twice.where == "stack.py: jobs.cleanup.name" and "two jobs" in twice.message
    swarm = [p for p in check_declaration(on_swarm(with_jobs(stack, NIGHTLY)))
             if p.where == "stack.py: jobs"]
    assert len(swarm) == 1 and "Swarm target does not run scheduled jobs" in swarm[0].message


def test_a_job_runs_in_a_one_off_of_its_service(stack: Stack) -> None:
    spec = job_spec(stack, NIGHTLY)
    once = oneoff_spec(stack, "php", "php cleanup.php", token="x")
    assert spec.name == f"{stack.project}-php-job-cleanup"
    assert (spec.image, spec.environment, spec.mounts, spec.networks) == \
        (once.image, once.environment, once.mounts, once.networks)
    assert spec.ports == [] and all(a.ip is None and not a.aliases for a in spec.networks)
    assert spec.labels["pojemnik.agent.task"] == f"{stack.project}/job-cleanup"
    assert spec.labels["pojemnik.kind"] == "oneoff"


def test_the_agent_task_creates_connects_and_starts_it(stack: Stack) -> None:
    task = agent_task(stack, NIGHTLY)
    create, connect, start = task["steps"]
    name = f"{stack.project}-php-job-cleanup"
    assert create["argv"][:5] == ["docker", "container", "create", "--name", name]
    assert create["argv"][-4:] == [f"{stack.project}/php:latest", "sh", "-c",
                                   "php cleanup.php"]
    argv = create["argv"]
    assert argv[argv.index("--network") + 1] == f"{stack.project}-services"
    assert connect["argv"] == ["docker", "network", "connect", f"{stack.project}-isolated",
                               name]
    assert start["argv"] == ["docker", "container", "start", "--attach", name]
    assert "--publish" not in argv and "--ip" not in argv and "--network-alias" not in argv
    # The service's hardening and limits, as the engine gives a one-off.
    assert "--read-only" in argv and "--no-healthcheck" in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert argv[argv.index("--pids-limit") + 1] == "100"
    # The environment's values: in the step's environment, never in the command line.
    assert DB_PASSWORD not in " ".join(argv) and "DB_PASSWORD" in argv
    assert create["env"]["DB_PASSWORD"] == DB_PASSWORD
    assert (task["schedule"], task["timeout"], task["lock"]) == ("30 3 * * *", 3600.0, True)


def test_a_name_the_docker_command_reads_is_given_in_its_arguments(stack: Stack) -> None:
    spec = replace(job_spec(stack, NIGHTLY), environment={"PATH": "/opt/bin", "A": "b"})
    argv = create_argv(spec)
    assert "PATH=/opt/bin" in argv and argv[argv.index("A") - 1] == "--env"


def test_the_agent_config_is_what_the_agent_reads(stack: Stack) -> None:
    config = agent_config(with_jobs(stack, NIGHTLY))
    loaded = from_dict(config)
    assert list(loaded.tasks) == ["job-cleanup"] and loaded.project == stack.project
    assert loaded.lock_image == stack.base_image
    assert scheduled(with_jobs(stack, NIGHTLY)) == {"job-cleanup": "30 3 * * *"}
    assert scheduled(stack) == {}


def test_the_example_declares_the_nightly_clearsessions(example: Stack) -> None:
    assert [(j.name, j.service, j.schedule) for j in example.jobs] == \
        [("clearsessions", "app", "daily")]
    assert "manage.py clearsessions" in example.jobs[0].command
    assert check_declaration(example) == []


def test_jobs_list_rows_join_the_declaration_and_the_records(stack: Stack) -> None:
    other = replace(NIGHTLY, name="weekly-report", schedule="weekly")
    records = [{"name": "job-cleanup", "started": "2026-01-01T03:30:00Z", "exit": 0,
                "ok": True, "seconds": 1.5, "output": "done\n"},
               {"name": "tls-renew", "exit": 1}]
    rows = job_rows(with_jobs(stack, NIGHTLY, other), records)
    assert [r["name"] for r in rows] == ["cleanup", "weekly-report"]
    assert rows[0]["on_calendar"] == "*-*-* 03:30:00"
    assert rows[0]["last_run"]["exit"] == 0 and rows[1]["last_run"] is None
    assert last_run_text(rows[0]) == "ok at 2026-01-01T03:30:00Z, 1.5 s"
    assert last_run_text(rows[1]) == "never run"
