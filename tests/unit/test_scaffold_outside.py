"""Outside a project every entry point says what to do: `pojemnik` alone, a project's
tasks without stack.py, tasks.py run by a Python without pojemnik, and (Invoke's own
message being out of our reach) `pojemnik --help` explaining bare `invoke`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pojemnik.scaffold import make_project
from pojemnik.scaffold.cli import main
from pojemnik.scaffold.situation import describe

INVOKE = [sys.executable, "-m", "invoke"]


def test_pojemnik_alone_outside_a_project_says_cd_or_init(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "Not in a pojemnik project" in out and str(tmp_path) in out
    assert "cd into a project" in out and "pojemnik init DIR" in out
    assert "Can't find any collection named 'tasks'!" in out


def test_pojemnik_alone_in_a_project_names_its_tasks(tmp_path: Path) -> None:
    make_project(tmp_path)
    (tmp_path / "sub").mkdir()
    text = describe(tmp_path / "sub")  # as Invoke does, from below the project too
    assert f"In the pojemnik project {tmp_path}." in text and "invoke --list" in text


def test_half_a_project_says_what_is_missing(tmp_path: Path) -> None:
    make_project(tmp_path)
    (tmp_path / "stack.py").unlink()
    assert "has tasks.py but no stack.py" in describe(tmp_path)
    make_project(tmp_path, force=True)
    (tmp_path / "tasks.py").unlink()
    text = describe(tmp_path)
    assert "has stack.py but no tasks.py" in text and "ns = namespace(" in text


def test_the_tasks_without_stack_py_say_where_to_run_them(tmp_path: Path) -> None:
    make_project(tmp_path)
    (tmp_path / "stack.py").unlink()
    result = subprocess.run([*INVOKE, "check"], cwd=tmp_path, capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 2
    out = result.stdout + result.stderr
    assert "stack.py: no stack declaration here" in out
    assert "project's directory" in out and "pojemnik init --list-templates" in out
    assert "Traceback" not in out


def test_tasks_py_run_by_a_python_without_pojemnik_says_install_it(tmp_path: Path) -> None:
    make_project(tmp_path)
    # -S: no site-packages, so neither pojemnik nor invoke can be imported.
    result = subprocess.run([sys.executable, "-S", "tasks.py"], cwd=tmp_path,
                            capture_output=True, text=True, check=False, timeout=60,
                            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert result.returncode == 1
    assert "tasks.py: No module named 'pojemnik'" in result.stderr
    assert "pip install pojemnik" in result.stderr and "Traceback" not in result.stderr


def test_help_explains_invokes_own_message_outside_a_project(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "Can't find any collection named 'tasks'!" in out
    assert "pojemnik init" in out and "invoke --list" in out
