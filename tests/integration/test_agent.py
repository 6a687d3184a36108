"""The server agent against the real engine, run as its timer runs it (`python3 -m
pojemnik.agent`): it waits for pojemnik's own deploy lock and runs after its release, a
bounded wait fails its record naming the holder, a deploy meets the agent's lock, a task
never runs beside itself, a timeout kills the task and removes the container it started,
and `tick` (the cron fallback) runs a task whose schedule fired."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from pojemnik.engine.backend import LockHolder
from pojemnik.engine.docker_engine import DockerEngine
from pojemnik.operations.lock import this_process

pytestmark = pytest.mark.integration

BASE = "debian:bookworm-slim"


@pytest.fixture()
def project(client: docker.DockerClient) -> Iterator[str]:
    name = f"pjtest-agent-{secrets.token_hex(3)}"
    yield name
    for row in client.api.containers(all=True, filters={"label": f"pojemnik.project={name}"}):
        client.api.remove_container(row["Id"], force=True)
    for row in client.api.containers(all=True, filters={"name": f"{name}-"}):
        client.api.remove_container(row["Id"], force=True)


def write_config(where: Path, project: str, **tasks: dict[str, Any]) -> Path:
    path = where / "agent.json"
    path.write_text(json.dumps({"project": project, "lock_image": BASE, "tasks": tasks}))
    return path


def agent(config: Path, state: Path, *words: str) -> list[str]:
    return [sys.executable, "-m", "pojemnik.agent", "--config", str(config),
            "--state", str(state), *words]


def record(state: Path, name: str) -> dict[str, Any] | None:
    path = state / "runs" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def test_a_task_waits_for_a_deploy_and_runs_after_it(client: docker.DockerClient,
                                                     project: str, tmp_path: Path) -> None:
    engine = DockerEngine(client)
    marker = tmp_path / "ran"
    config = write_config(tmp_path, project, job={
        "steps": [{"argv": ["sh", "-c", f"date +%s.%N > {marker}; echo ran"]}],
        "timeout": 60, "lock_wait": 120})
    held = engine.take_lock(project, BASE, this_process("invoke deploy"))
    assert not isinstance(held, LockHolder)
    waiting = subprocess.Popen(agent(config, tmp_path / "s", "run", "job"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # the agent has met the lock and waits
        assert waiting.poll() is None and not marker.exists()
    finally:
        released = time.time()
        held.release()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "waiting (at most 120 s) for the deploy lock" in err and "invoke deploy" in err
    assert float(marker.read_text()) > released and out == "ran\n"
    done = record(tmp_path / "s", "job")
    assert done is not None and done["ok"] and done["exit"] == 0 and done["output"] == "ran\n"
    assert engine.lock_holder(project) is None  # the agent released it


def test_a_bounded_wait_fails_the_record_naming_the_holder(
        client: docker.DockerClient, project: str, tmp_path: Path) -> None:
    engine = DockerEngine(client)
    marker = tmp_path / "ran"
    config = write_config(tmp_path, project, job={
        "steps": [{"argv": ["touch", str(marker)]}], "timeout": 60, "lock_wait": 2})
    held = engine.take_lock(project, BASE, this_process("invoke deploy"))
    assert not isinstance(held, LockHolder)
    try:
        result = subprocess.run(agent(config, tmp_path / "s", "run", "job"),
                                capture_output=True, text=True, timeout=120, check=False)
    finally:
        held.release()
    assert result.returncode == 75 and not marker.exists()
    failed = record(tmp_path / "s", "job")
    assert failed is not None and not failed["ok"] and failed["exit"] == 75
    assert f"the deploy lock of {project} is held by" in failed["output"]
    assert "running `invoke deploy`" in failed["output"] and "waited 2 s" in failed["output"]


def test_a_deploy_meets_the_agents_lock_and_a_task_never_overlaps_itself(
        client: docker.DockerClient, project: str, tmp_path: Path) -> None:
    engine = DockerEngine(client)
    started = tmp_path / "started"
    config = write_config(tmp_path, project, job={
        "steps": [{"argv": ["sh", "-c", f"touch {started}; sleep 4; echo first"]}],
        "timeout": 60})
    first = subprocess.Popen(agent(config, tmp_path / "s", "run", "job"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if started.exists():
            break
        time.sleep(0.05)
    assert started.exists()
    second = subprocess.run(agent(config, tmp_path / "s", "run", "job"),
                            capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == 75 and "job is already running" in second.stderr
    met = engine.take_lock(project, BASE, this_process("invoke deploy"))
    assert isinstance(met, LockHolder), "a deploy took the lock the agent holds"
    assert met.command == "pojemnik-agent run job" and met.who.startswith("pojemnik-agent@")
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert out == "first\n"
    done = record(tmp_path / "s", "job")
    assert done is not None and done["ok"] and done["output"] == "first\n"


def test_a_timeout_kills_the_task_and_removes_its_container(
        client: docker.DockerClient, project: str, tmp_path: Path) -> None:
    name = f"{project}-oneoff"
    run = ["docker", "run", "--rm", "--name", name, "--label",
           f"pojemnik.agent.task={project}/job", "--network", "none", BASE, "sleep", "300"]
    config = write_config(tmp_path, project, job={
        "steps": [{"argv": ["echo", "before"]}, {"argv": run}], "timeout": 4})
    result = subprocess.run(agent(config, tmp_path / "s", "run", "job"),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 124, result.stderr
    killed = record(tmp_path / "s", "job")
    assert killed is not None and killed["exit"] == 124 and not killed["ok"]
    assert killed["output"].startswith("before\n") and "still running after 4 s" in \
        killed["output"]
    assert client.api.containers(all=True, filters={"name": name}) == []
    assert DockerEngine(client).lock_holder(project) is None


def test_tick_runs_a_task_whose_schedule_fired(project: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    config = write_config(tmp_path, project, job={
        "steps": [{"argv": ["sh", "-c", f"echo x >> {marker}"]}], "timeout": 30,
        "schedule": "every 2s", "lock": False}, manual={
        "steps": [{"argv": ["touch", str(tmp_path / "manual")]}], "timeout": 30})
    state = tmp_path / "s"
    subprocess.run(agent(config, state, "tick"), check=True, timeout=60)
    assert not marker.exists()  # the first tick only notes the time
    time.sleep(2.5)  # the schedule fires at least once
    subprocess.run(agent(config, state, "tick"), check=True, timeout=60)
    assert marker.read_text() == "x\n" and not (tmp_path / "manual").exists()
    ran = record(state, "job")
    assert ran is not None and ran["ok"]
    shown = subprocess.run(agent(config, state, "records"), capture_output=True, text=True,
                           check=True, timeout=60)
    assert shown.stdout.startswith("job: ok, ")
