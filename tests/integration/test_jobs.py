"""Scheduled jobs on the deployed example, run by the server agent as its timer (or, without
systemd, cron's `tick`) runs it: the example's clearsessions with a short test schedule,
in a one-off container of app with its database and secrets, really deleting an expired
session, recorded, no container left; a job waiting while a deploy holds the lock and
running after it; a failing job's exit code and output in its record."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import pytest

from pojemnik.declaration.loader import load_with_settings
from pojemnik.declaration.model import Stack
from pojemnik.engine.backend import LockHolder
from pojemnik.engine.docker_engine import DockerEngine
from pojemnik.operations.lock import this_process
from pojemnik.operations.server.agent import agent_config

from .conftest import Copy

pytestmark = pytest.mark.integration

SESSIONS = ("from django.contrib.sessions.models import Session; "
            "print('sessions:', Session.objects.count())")
EXPIRED = ("from django.contrib.sessions.models import Session; "
           "from django.utils import timezone; import datetime; "
           "Session.objects.create(session_key='pjtest' + 'x' * 26, session_data='e30:', "
           "expire_date=timezone.now() - datetime.timedelta(days=1)); print('made')")


def example_stack(copy: Copy) -> Stack:
    stack, problems, _ = load_with_settings(copy.root, environ=copy.env)
    assert problems == []
    return stack


def agent_files(copy: Copy, where: Path, stack: Stack) -> list[str]:
    """The agent's config as `agent.install` writes it, and how to run the agent on it."""
    config = where / "agent.json"
    config.write_text(json.dumps(agent_config(stack)))
    return [sys.executable, "-m", "pojemnik.agent", "--config", str(config),
            "--state", str(where / "state")]


def record(where: Path, task: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((where / "state" / "runs" / f"{task}.json").read_text())
    return found


def shell(copy: Copy, code: str) -> str:
    return copy.invoke("run", "--no-tty", "app",
                       f'python3 /srv/app/manage.py shell -c "{code}"').stdout


def left(client: docker.DockerClient, copy: Copy) -> list[str]:
    return [c["Names"][0] for c in client.api.containers(
        all=True, filters={"label": f"pojemnik.project={copy.project}",
                           "name": f"{copy.project}-app-job-"})]


def test_the_example_s_clearsessions_runs_on_a_short_schedule(
        deployed: Copy, client: docker.DockerClient, tmp_path: Path) -> None:
    declared = example_stack(deployed)
    assert [j.name for j in declared.jobs] == ["clearsessions"]
    often = replace(declared, jobs=[replace(declared.jobs[0], schedule="every 2s")])
    agent = agent_files(deployed, tmp_path, often)
    assert "made" in shell(deployed, EXPIRED)
    assert "sessions: 1" in shell(deployed, SESSIONS)
    subprocess.run([*agent, "tick"], check=True, timeout=120)  # notes the time
    assert not (tmp_path / "state" / "runs").exists()
    time.sleep(2.5)  # the schedule fires
    ticked = subprocess.run([*agent, "tick"], capture_output=True, text=True, timeout=300,
                            check=False)
    assert ticked.returncode == 0, ticked.stdout + ticked.stderr
    ran = record(tmp_path, "job-clearsessions")
    assert ran["ok"] and ran["exit"] == 0 and ran["seconds"] > 0, ran
    assert "sessions: 0" in shell(deployed, SESSIONS)  # clearsessions deleted it
    assert left(client, deployed) == []


def test_a_job_waits_while_a_deploy_holds_the_lock(
        deployed: Copy, client: docker.DockerClient, tmp_path: Path) -> None:
    stack = example_stack(deployed)
    agent = agent_files(deployed, tmp_path, stack)
    engine = DockerEngine(client)
    held = engine.take_lock(deployed.project, stack.base_image, this_process("invoke deploy"))
    assert not isinstance(held, LockHolder)
    job = subprocess.Popen([*agent, "run", "job-clearsessions"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)  # it met the lock: waiting, no container of it made
        assert job.poll() is None and left(client, deployed) == []
    finally:
        held.release()
    out, err = job.communicate(timeout=300)
    assert job.returncode == 0, out + err
    assert "waiting (at most 600 s) for the deploy lock" in err and "invoke deploy" in err
    assert record(tmp_path, "job-clearsessions")["ok"]
    assert left(client, deployed) == []


def test_a_failing_job_records_its_exit_code_and_output(
        deployed: Copy, client: docker.DockerClient, tmp_path: Path) -> None:
    stack = example_stack(deployed)
    failing = replace(stack.jobs[0], name="broken",
                      command="echo db=$DB_NAME; test -s /run/secrets/db_password; exit 3")
    agent = agent_files(deployed, tmp_path, replace(stack, jobs=[failing]))
    result = subprocess.run([*agent, "run", "job-broken"], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout == "db=app\n"
    failed = record(tmp_path, "job-broken")
    assert (failed["exit"], failed["ok"], failed["output"]) == (3, False, "db=app\n")
    assert failed["failures"] == 1 and failed["next_after"] is None  # no backoff for jobs
    assert left(client, deployed) == []
