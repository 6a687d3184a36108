"""Every task checks its inputs before any side effect. A project name that would make
`/srv/pojemnik/..` or `/srv/pojemnik/` of the stack's directory on a host is refused by
tasks that validate nothing else (`server.bootstrap` chowns that directory), before any
connection is made. Runs the real `invoke`/`fab` on a copy of the example; no engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from stackbuilders import EXAMPLE_ROOT, EXAMPLE_SETTINGS

from pojemnik import InvalidStack, Problem, Stack
from pojemnik.hostfiles.layout import remote_dir
from pojemnik.operations.host.converge import converge
from pojemnik.planning.plan import Options

BIN = Path(sys.executable).parent


def copy_of_example(root: Path) -> Path:
    for name in ("stack.py", "tasks.py", "fabfile.py", "fabric.yaml", ".env.example"):
        shutil.copy(EXAMPLE_ROOT / name, root / name)
    return root


def run(root: Path, *argv: str, project: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **EXAMPLE_SETTINGS, "POJEMNIK_PROJECT": project,
           "DOCKER_HOST": "unix:///nonexistent/docker.sock"}  # no engine is ever reached
    return subprocess.run(list(argv), cwd=root, env=env, text=True, capture_output=True,
                          timeout=120)


@pytest.mark.parametrize("project", ["..", "", ".", "a/b"])
def test_bootstrap_refuses_a_project_name_that_is_no_directory_name(
        tmp_path: Path, project: str) -> None:
    root = copy_of_example(tmp_path)
    # Port 9 on 127.0.0.1: nothing answers; a task that tried to connect would say so.
    result = run(root, str(BIN / "fab"), "-H", "root@127.0.0.1:9", "server.bootstrap",
                 project=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "POJEMNIK_PROJECT" in result.stderr and "project name" in result.stderr
    assert "127.0.0.1" not in result.stderr  # refused before any connection


def test_ps_refuses_it_too(tmp_path: Path) -> None:
    result = run(copy_of_example(tmp_path), str(BIN / "invoke"), "ps", project="..")
    assert result.returncode == 2 and "project name '..'" in result.stderr


def test_a_bad_project_name_comes_with_the_declaration_s_other_problems(
        tmp_path: Path) -> None:
    root = copy_of_example(tmp_path)
    stack = root / "stack.py"
    stack.write_text(stack.read_text().replace('networks={"services": 3}',
                                               'networks={"servcies": 3}'))
    result = run(root, str(BIN / "invoke"), "ps", project="..")
    assert result.returncode == 2
    assert "project name '..'" in result.stderr
    assert "unknown network 'servcies'" in result.stderr


def test_a_long_project_name_is_refused(tmp_path: Path) -> None:
    result = run(copy_of_example(tmp_path), str(BIN / "invoke"), "ps", project="a" * 49)
    assert result.returncode == 2 and "longer than 48 characters" in result.stderr


def test_the_stack_directory_is_never_the_base_or_outside_it() -> None:
    assert remote_dir("shop") == "/srv/pojemnik/shop"
    for bad in ("", ".", "..", "../etc", "a/b"):
        with pytest.raises(ValueError):
            remote_dir(bad)


class UntouchableEngine:
    """Any use of the engine fails the test, but reading its image list: a refusal names
    the services' images that exist nowhere with the other problems (a query)."""

    def image_ids(self) -> dict[str, str]:
        return {}

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the engine was used ({name}) before the input was checked")


def test_a_refused_deploy_touches_no_engine(stack: Stack) -> None:
    """A bad `.env` is refused before `recover` (run without the lock, it could rename
    another deploy's `-next` container mid-update)."""
    bad = Problem(".env:3", "HTTP_PORT='38O80' is not a number", "write a port number")
    with pytest.raises(InvalidStack, match="38O80"):
        converge(stack, UntouchableEngine(), Options(), print, extra_problems=[bad])  # type: ignore[arg-type]


@pytest.mark.parametrize("task", ["networks.create", "containers.run"])
def test_single_host_tasks_refuse_the_swarm_target(tmp_path: Path, task: str) -> None:
    """They would make bridge networks and containers on the manager, beside the
    cluster's services: refused, saying what does it on a Swarm, before the engine."""
    root = copy_of_example(tmp_path)
    (root / ".env").write_text("POJEMNIK_TARGET=swarm\n")
    result = run(root, str(BIN / "invoke"), task, project="pjunit-swarm")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "declares target swarm" in result.stderr and "`deploy` makes" in result.stderr
