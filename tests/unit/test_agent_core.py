"""The agent's parts without an engine: its config checked before anything runs, records
and their backoff, steps and pipes under a timeout (real processes), the zipapp run by
the server's own python3, the systemd units."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pojemnik.agent import records
from pojemnik.agent.config import AgentError, Step, from_dict
from pojemnik.agent.steps import TIMED_OUT, run_steps
from pojemnik.operations.server import _payload as payload


def steps(*pipes: list[list[str]], env: dict[str, str] | None = None) -> list[Step]:
    return [Step(pipe, env or {}) for pipe in pipes]


def config(**task: Any) -> dict[str, Any]:
    body = {"steps": [{"argv": ["true"]}], "timeout": 10, **task}
    return {"project": "p", "lock_image": "debian:bookworm-slim", "tasks": {"t": body}}


@pytest.mark.parametrize(("task", "said"), [
    ({"steps": []}, "tasks.t.steps: expected a list of at least one step"),
    ({"steps": [{"argv": []}]}, "tasks.t.steps[0]: each command is a non-empty list"),
    ({"steps": [{"run": "x"}]}, 'tasks.t.steps[0]: expected {"argv": [...]}'),
    ({"steps": [{"pipe": [["a"], "b"]}]}, "tasks.t.steps[0]: each command"),
    ({"timeout": 0}, "tasks.t.timeout: expected seconds above 0"),
    ({"timeout": "5"}, "tasks.t.timeout"),
    ({"schedule": "nightly"}, "tasks.t.schedule: 'nightly' is not a schedule"),
    ({"backoff": {"first": 10}}, "tasks.t.backoff"),
    ({"backoff": {"first": 10, "max": 5}}, "tasks.t.backoff"),
])
def test_a_bad_config_names_the_field(task: dict[str, Any], said: str) -> None:
    with pytest.raises(AgentError) as error:
        from_dict(config(**task), "/etc/pojemnik/p/agent.json")
    assert said in str(error.value)
    assert str(error.value).startswith("/etc/pojemnik/p/agent.json: ")


def test_other_capabilities_keys_are_left_alone() -> None:
    loaded = from_dict({**config(schedule="daily"), "checks": [1], "channels": {}})
    assert loaded.tasks["t"].schedule == "daily" and loaded.raw["checks"] == [1]
    assert loaded.tasks["t"].steps == steps([["true"]]) and loaded.tasks["t"].lock


def test_a_steps_environment_reaches_its_commands_and_not_their_arguments() -> None:
    loaded = from_dict(config(steps=[{"argv": ["sh", "-c", "echo $PJ_VALUE"],
                                      "env": {"PJ_VALUE": "from-env"}}]))
    assert loaded.tasks["t"].steps == steps([["sh", "-c", "echo $PJ_VALUE"]],
                                            env={"PJ_VALUE": "from-env"})
    assert run_steps(loaded.tasks["t"].steps, 10, lambda chunk: None).output == b"from-env\n"
    with pytest.raises(AgentError, match=r"tasks.t.steps\[0\].env: expected an object"):
        from_dict(config(steps=[{"argv": ["true"], "env": {"A": 1}}]))


def test_backoff_doubles_up_to_its_max_and_a_success_resets_it() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    first = records.record("t", at, at, 1, b"", None, (60, 300))
    assert first["failures"] == 1 and first["next_after"] == "2026-01-01T00:01:00Z"
    second = records.record("t", at, at, 1, b"", first, (60, 300))
    assert second["failures"] == 2 and second["next_after"] == "2026-01-01T00:02:00Z"
    third = records.record("t", at, at, 1, b"", {"failures": 5}, (60, 300))
    assert third["next_after"] == "2026-01-01T00:05:00Z"  # 60 * 2**5, at most 300
    assert records.backing_off(third, at + timedelta(seconds=299)) is not None
    assert records.backing_off(third, at + timedelta(seconds=301)) is None
    ok = records.record("t", at, at, 0, b"", third, (60, 300))
    assert ok["failures"] == 0 and ok["next_after"] is None and ok["ok"]
    assert records.record("t", at, at, 1, b"", None, None)["next_after"] is None


def test_a_record_keeps_the_last_4_kib_and_never_a_secret() -> None:
    output = b"".join(b"line %d\n" % n for n in range(2000)) + \
        b"DB_PASSWORD=hunter2 url=postgres://app:s3cret@db/app token: abc123\n"
    at = datetime(2026, 1, 1, tzinfo=UTC)
    kept = records.record("t", at, at + timedelta(seconds=1.25), 0, output, None, None)
    assert len(kept["output"].encode()) <= records.OUTPUT_BYTES
    assert kept["output"].startswith("line ") and kept["output"].endswith("******\n")
    assert "hunter2" not in kept["output"] and "s3cret" not in kept["output"]
    assert "abc123" not in kept["output"] and "postgres://app:******@db/app" in kept["output"]
    assert kept["seconds"] == 1.2 or kept["seconds"] == 1.3


def test_records_are_written_whole_and_read_back(tmp_path: Path) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for name in ("b", "a"):
        records.write(str(tmp_path), records.record(name, at, at, 0, b"hi\n", None, None))
    assert [r["name"] for r in records.read_all(str(tmp_path))] == ["a", "b"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["a.json", "b.json"]


def test_steps_stop_at_the_first_failure_and_a_pipe_fails_with_any_stage() -> None:
    seen: list[bytes] = []
    outcome = run_steps(steps([["echo", "one"]], [["sh", "-c", "echo two; exit 3"], ["cat"]],
                              [["echo", "never"]]), 10, seen.append)
    assert outcome.exit == 3 and not outcome.timed_out
    assert outcome.output == b"one\ntwo\n" == b"".join(seen)
    piped = run_steps(steps([["printf", "a\\nb\\n"], ["grep", "b"], ["sh", "-c", "cat; exit 0"]]),
                      10, seen.append)
    assert (piped.exit, piped.output) == (0, b"b\n")
    failing = run_steps(steps([["false"], ["cat"]]), 10, seen.append)
    assert failing.exit == 1  # pipefail: `false | cat` fails
    missing = run_steps(steps([["pjtest-no-such-command"]]), 10, seen.append)
    assert missing.exit == 127 and b"cannot run pjtest-no-such-command" in missing.output


def test_the_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "pids"
    script = f"sleep 300 & echo $! > {marker}; echo started; sleep 300"
    outcome = run_steps(steps([["sh", "-c", script], ["cat"]]), 1, lambda chunk: None)
    assert outcome.exit == TIMED_OUT and outcome.timed_out
    assert b"started" in outcome.output and b"still running after 1 s: killed" in outcome.output
    background = int(marker.read_text())
    for _ in range(50):  # reaped by whoever adopts it; gone or a zombie
        if not _alive(background):
            break
        time.sleep(0.1)
    assert not _alive(background)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_zipapp_runs_with_the_servers_python_alone(tmp_path: Path) -> None:
    """Built in memory from the package's files; run by the system's python3 with no
    pojemnik installed (no venv, an empty PYTHONPATH): the stdlib is all it needs."""
    pyz = tmp_path / "pojemnik-agent.pyz"
    pyz.write_bytes(payload.zipapp())
    assert payload.zipapp() == pyz.read_bytes()  # the same bytes each time
    (tmp_path / "agent.json").write_text(json.dumps(config(lock=False)))
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    env = {"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"}
    base = [python, "-I", str(pyz), "--config", str(tmp_path / "agent.json"),
            "--state", str(tmp_path / "state")]
    ran = subprocess.run([*base, "run", "t"], env=env, capture_output=True, text=True,
                         check=False, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    shown = subprocess.run([*base, "records", "--json"], env=env, capture_output=True,
                           text=True, check=True, cwd=tmp_path)
    assert [r["name"] for r in json.loads(shown.stdout)] == ["t"]
    bad = subprocess.run([*base, "run", "nope"], env=env, capture_output=True, text=True,
                         check=False, cwd=tmp_path)
    assert bad.returncode == 2 and "no task 'nope' (declared: t)" in bad.stderr


def test_one_timer_per_scheduled_task_named_by_project() -> None:
    tasks = {"clearsessions": {"timeout": 600, "schedule": "daily"},
             "manual": {"timeout": 60}}
    files = payload.units("shop", tasks, {"clearsessions": "*-*-* 00:00:00"})
    assert sorted(files) == ["pojemnik-shop-clearsessions.service",
                             "pojemnik-shop-clearsessions.timer"]
    timer = files["pojemnik-shop-clearsessions.timer"]
    assert "OnCalendar=*-*-* 00:00:00\n" in timer and "Persistent=true" in timer
    assert "X-Pojemnik-Project=shop\n" in timer
    service = files["pojemnik-shop-clearsessions.service"]
    assert ("ExecStart=/usr/bin/python3 /usr/local/lib/pojemnik/pojemnik-agent.pyz --config "
            "/etc/pojemnik/shop/agent.json --state /var/lib/pojemnik/shop/agent run "
            "clearsessions\n") in service
    assert "TimeoutStartSec=1020\n" in service  # its timeout, its lock wait, a margin
    assert payload.cron_file("shop").startswith("* * * * * root /usr/bin/python3 ")
