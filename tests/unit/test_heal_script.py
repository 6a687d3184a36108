"""The host's heal watcher (engine/host/pojemnik-heal), run for real by /bin/sh with a
stand-in `docker` on PATH that reports one unhealthy container and records restarts:
an empty or garbled state file (a full disk) never stops it, and each container is
restarted with its own stop grace."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "pojemnik/engine/host/pojemnik-heal"

DOCKER = """#!/bin/sh
case "$1" in
  ps) echo "c0ffee demo-db" ;;
  inspect)
    case "$*" in
      *FailingStreak*) echo "5 3 30" ;;
      *) echo unhealthy ;;
    esac ;;
  restart) echo "$*" >> "$RESTARTS"; echo c0ffee ;;
esac
"""


def heal(tmp_path: Path, state: str | None) -> tuple[subprocess.CompletedProcess[str], Path]:
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "docker").write_text(DOCKER)
    (stub / "docker").chmod(0o755)
    states = tmp_path / "state"
    states.mkdir(exist_ok=True)
    if state is not None:
        (states / "demo-db").write_text(state)
    restarts = tmp_path / "restarts"
    env = {**os.environ, "PATH": f"{stub}:{os.environ['PATH']}",
           "POJEMNIK_HEAL_STATE": str(states), "POJEMNIK_HEAL_LOG": str(tmp_path / "log"),
           "RESTARTS": str(restarts)}
    result = subprocess.run(["sh", str(SCRIPT), "--once"], env=env, text=True,
                            capture_output=True, timeout=60)
    return result, restarts


@pytest.mark.parametrize("state", [None, "", "\n", "garbage here", "12"])
def test_a_missing_empty_or_garbled_state_still_restarts(tmp_path: Path,
                                                         state: str | None) -> None:
    result, restarts = heal(tmp_path, state)
    assert result.returncode == 0, result.stderr
    assert restarts.read_text() == "restart --time 30 c0ffee\n"  # the declared grace
    last, wait = (tmp_path / "state" / "demo-db").read_text().split()
    assert int(last) > 0 and wait == "60"
    assert "demo-db: restarted; next restart not before 60 s" in (tmp_path / "log").read_text()


def test_a_recent_restart_waits_for_its_backoff(tmp_path: Path) -> None:
    result, restarts = heal(tmp_path, f"{int(time.time())} 900\n")
    assert result.returncode == 0 and not restarts.exists()
