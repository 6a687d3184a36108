"""Environments (POJEMNIK_ENV): `.env.NAME` layered over `.env` and `.env.example`, the
process environment winning, and the project namespaced `<project>-NAME`; bad names and
missing files refused before anything runs; the default environment as without them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from stackbuilders import write

from pojemnik import Stack
from pojemnik.declaration.loader import load_stack, load_with_settings
from pojemnik.declaration.model import LABEL_PROJECT
from pojemnik.declaration.origins import Origin
from pojemnik.declaration.problems import InvalidStack
from pojemnik.declaration.settings import Settings
from pojemnik.planning.checks import validate
from pojemnik.planning.environments import MASK, as_dict, environment_diff, refresh_problems
from pojemnik.planning.state import Observed, ObservedNetwork

STACK = '''
from pathlib import Path
from pojemnik import Network, Stack

def declare(settings):
    return Stack(project=settings["POJEMNIK_PROJECT"], root=Path(__file__).parent,
                 networks=[Network("net", subnet=settings["SUBNET"])])
'''


@pytest.fixture
def envrepo(tmp_path: Path) -> Path:
    write(tmp_path / "stack.py", STACK)
    write(tmp_path / ".env.example", "POJEMNIK_PROJECT=shop\nSUBNET=10.0.1.0/24\nPORT=80\n")
    write(tmp_path / ".env", "PORT=8080\n")
    write(tmp_path / ".env.staging", "SUBNET=10.0.2.0/24\n")
    return tmp_path


def test_staging_layers_its_file_over_env_and_example(envrepo: Path) -> None:
    settings = Settings.load(envrepo, {"POJEMNIK_ENV": "staging"})
    assert settings.environment == "staging"
    assert settings["SUBNET"] == "10.0.2.0/24"
    assert settings.where("SUBNET") == ".env.staging:1"
    assert settings["PORT"] == "8080"  # from .env, not overridden
    assert settings.problems == [] and settings.environment_problems == []


def test_the_process_environment_wins_over_the_environments_file(envrepo: Path) -> None:
    settings = Settings.load(envrepo, {"POJEMNIK_ENV": "staging", "SUBNET": "10.9.0.0/24"})
    assert settings["SUBNET"] == "10.9.0.0/24"


def test_staging_project_is_namespaced(envrepo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POJEMNIK_ENV", "staging")
    stack, problems = load_stack(envrepo)
    assert problems == []
    assert stack.project == "shop-staging"
    assert stack.network_name("net") == "shop-staging-net"
    assert stack.secret_path("db") == envrepo / ".secrets" / "shop-staging" / "db"
    assert stack.state_path() == envrepo / ".pojemnik" / "shop-staging.json"
    assert stack.networks[0].subnet == "10.0.2.0/24"


@pytest.mark.parametrize("value", [None, "", "  "])
def test_default_environment_is_as_without_environments(
        envrepo: Path, monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("POJEMNIK_ENV", raising=False)
    else:
        monkeypatch.setenv("POJEMNIK_ENV", value)
    stack, problems = load_stack(envrepo)
    assert (stack.project, stack.networks[0].subnet, problems) == ("shop", "10.0.1.0/24", [])


def test_a_missing_environments_file_is_refused(envrepo: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POJEMNIK_ENV", "stagign")
    with pytest.raises(InvalidStack) as raised:
        load_stack(envrepo)
    [problem] = raised.value.problems
    assert problem.where == "POJEMNIK_ENV=stagign"
    assert ".env.stagign does not exist" in problem.message


@pytest.mark.parametrize("name", ["Staging", "stag ing", "-x", "a/b", "x" * 21])
def test_a_name_docker_cannot_use_is_refused(envrepo: Path, monkeypatch: pytest.MonkeyPatch,
                                             name: str) -> None:
    monkeypatch.setenv("POJEMNIK_ENV", name)
    with pytest.raises(InvalidStack) as raised:
        load_stack(envrepo)
    [problem] = raised.value.problems
    assert problem.where == "POJEMNIK_ENV"
    assert "cannot be part of Docker object names" in problem.message


def test_a_typo_in_the_environments_file_names_its_line(
        envrepo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(envrepo / ".env.staging", "SUBNET=10.0.2.0/24\nPROT=81\n")
    monkeypatch.setenv("POJEMNIK_ENV", "staging")
    _, problems = load_stack(envrepo)
    [problem] = problems
    assert problem.where == ".env.staging:2"
    assert "PORT" in problem.fix


def test_a_bad_line_in_the_environments_file_is_a_problem(
        envrepo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(envrepo / ".env.staging", "SUBNET 10.0.2.0/24\n")
    settings = Settings.load(envrepo, {"POJEMNIK_ENV": "staging"})
    [problem] = settings.problems
    assert problem.where == ".env.staging:1"


# --- collisions with another environment's running stack ---------------------------------

def staging_of(stack: Stack) -> Stack:
    return replace(stack, project=f"{stack.project}-staging")


def test_a_subnet_of_another_environments_stack_is_refused_naming_both(stack: Stack) -> None:
    running = ObservedNetwork(f"{stack.project}-services", "id1", ["10.9.20.0/24"],
                              labels={LABEL_PROJECT: stack.project})
    staging = staging_of(stack)
    problems = validate(staging, Observed(networks=[running]))
    [problem] = [p for p in problems if p.where.endswith("networks.services.subnet")]
    assert (f"of existing docker network '{stack.project}-services' ("
            f"the stack of project '{stack.project}'; '{staging.project}' would collide "
            "with it)"
            in problem.message)


def test_a_port_another_environments_proxy_publishes_is_refused_naming_both(
        stack: Stack) -> None:
    port = stack.service("proxy").ports[0]
    busy = (port.address, port.host, port.protocol)
    observed = Observed(busy_ports=[busy],
                        port_holders={busy: (f"{stack.project}-proxy", stack.project)})
    staging = staging_of(stack)
    [problem] = validate(staging, observed)
    assert problem.where == "stack.py: services.proxy.ports[0]"
    assert (f"already published by container '{stack.project}-proxy' ("
            f"the stack of project '{stack.project}'; '{staging.project}' would collide "
            "with it)"
            in problem.message)


def test_a_port_held_by_something_else_says_so_as_before(stack: Stack) -> None:
    port = stack.service("proxy").ports[0]
    [problem] = validate(stack, Observed(busy_ports=[(port.address, port.host, port.protocol)]))
    assert "already in use by another program or container" in problem.message


# --- comparing two environments ----------------------------------------------------------

def test_env_diff_shows_settings_and_rendered_differences_only(envrepo: Path) -> None:
    write(envrepo / ".env.staging", "SUBNET=10.0.2.0/24\nDB_PASSWORD=hunter2\n")
    write(envrepo / ".env.example", "POJEMNIK_PROJECT=shop\nSUBNET=10.0.1.0/24\nPORT=80\n"
          "DB_PASSWORD=\n")
    write(envrepo / ".env", "PORT=8080\nDB_PASSWORD=swordfish\n")
    sides = []
    for name in ("", "staging"):
        stack, _, settings = load_with_settings(envrepo, environ={"POJEMNIK_ENV": name})
        sides.append((name, settings, stack))
    diff = environment_diff(sides[0], sides[1])
    assert [(c.name, c.left, c.right, c.right_origin) for c in diff.settings] == [
        ("DB_PASSWORD", MASK, MASK, ".env.staging:2"),
        ("SUBNET", "10.0.1.0/24", "10.0.2.0/24", ".env.staging:1")]
    changed = [line for line in diff.rendered if line[:1] in "+-"]
    assert changed[:2] == ["--- the default environment (shop)", "+++ staging (shop-staging)"]
    # The project is written <project> on both sides: only the subnet's lines differ.
    assert all("10.0.1." in line or "10.0.2." in line for line in changed[2:]), changed
    assert "hunter2" not in str(as_dict(diff)) and "swordfish" not in str(as_dict(diff))


def test_env_diff_of_an_environment_with_itself_is_empty(envrepo: Path) -> None:
    stack, _, settings = load_with_settings(envrepo, environ={})
    assert not environment_diff(("", settings, stack), ("", settings, stack))


def test_a_problem_in_a_staging_value_says_to_change_it_in_env_staging() -> None:
    assert Origin("HTTP_PORT", ".env.staging:1").in_file == ".env.staging"
    assert Origin("HTTP_PORT", ".env.example:3").in_file == ".env"
    assert Origin("HTTP_PORT", ".env:3").in_file == ".env"


@pytest.mark.parametrize(("source", "target", "flag", "refused"), [
    ("", "staging", False, ""),
    ("staging", "", False, "overwrite the default environment's (production's)"),
    ("staging", "", True, ""),
    ("staging", "staging", False, "the environment being refreshed"),
])
def test_a_refresh_never_overwrites_production_unless_named(
        source: str, target: str, flag: bool, refused: str) -> None:
    problems = refresh_problems(source, target, flag)
    assert (refused in problems[0]) if refused else problems == []


def test_staging_hosts_come_from_its_settings_and_never_from_a_bad_environment(
        envrepo: Path) -> None:
    from pojemnik.declaration.env_names import unknown_names
    from pojemnik.tasks.hosts import configured_hosts

    assert configured_hosts(envrepo, {"POJEMNIK_ENV": "staging"}) is None
    write(envrepo / ".env.staging", "SUBNET=10.0.2.0/24\nPOJEMNIK_HOSTS=deploy@stage, b\n")
    assert configured_hosts(envrepo, {"POJEMNIK_ENV": "staging"}) == (
        "deploy@stage,b", ".env.staging:2")
    assert configured_hosts(envrepo, {}) is None  # the default environment has none
    assert configured_hosts(envrepo, {"POJEMNIK_ENV": "stagnig"}) is None  # refused later
    settings = Settings.load(envrepo, {"POJEMNIK_ENV": "staging"})
    assert not unknown_names(settings, envrepo / "stack.py")  # a known name, not a typo
