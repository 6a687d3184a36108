"""Settings' names checked (issue 24, items 4 and 5): a `.env` name nothing knows, a
stack file reading a misspelt one, a value that is not a number - each one problem
naming the file, line and the closest known name."""

from __future__ import annotations

from pathlib import Path

import pytest
from stackbuilders import one, write

from pojemnik.declaration.loader import load_stack
from pojemnik.declaration.problems import InvalidStack
from pojemnik.declaration.validate.stack import check_declaration

EXAMPLE = "# the proxy's ports\nHTTP_PORT=80\nHTTPS_PORT=443\n"
STACK = '''
from pathlib import Path
from pojemnik import Port, Service, Stack

def declare(settings):
    ports = [Port(settings.int("HTTP_PORT"), 8080), Port(settings.int("HTTPS_PORT"), 8443)]
    if settings.get("POJEMNIK_TARGET", "host") == "swarm":
        settings.get("SWARM_ONLY")  # read on one target only: still a known name
    return Stack(project="demo", root=Path(__file__).parent,
                 services=[Service("web", image="nginx:1", ports=ports)])
'''


def repo(root: Path, env: str, stack: str = STACK) -> Path:
    write(root / ".env.example", EXAMPLE)
    write(root / ".env", env)
    write(root / "stack.py", stack)
    return root


@pytest.fixture(autouse=True)
def no_settings_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PORT", "HTTPS_PORT", "HTPP_PORT", "POJEMNIK_TARGET"):
        monkeypatch.delenv(name, raising=False)


def test_an_env_name_nothing_knows_is_an_error_naming_the_closest(tmp_path: Path) -> None:
    _, problems = load_stack(repo(tmp_path, "# mine\nHTPP_PORT=1\n"))
    problem = one(problems)
    assert problem.where == ".env:2"
    assert "HTPP_PORT is a setting neither .env.example nor stack.py knows" in problem.message
    assert problem.fix.startswith("did you mean HTTP_PORT?")
    assert "document HTPP_PORT=<default> in .env.example" in problem.fix


def test_names_the_stack_file_knows_are_fine(tmp_path: Path) -> None:
    """Read with a default, or spelt in the stack file though not read this time."""
    _, problems = load_stack(repo(tmp_path, "POJEMNIK_TARGET=host\nSWARM_ONLY=1\n"
                                            "HTTP_PORT=8080\n"))
    assert problems == []


def test_only_the_env_file_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTPP_PORT", "1")  # the environment holds many names
    _, problems = load_stack(repo(tmp_path, ""))
    assert problems == []


def test_a_misspelt_read_suggests_the_declared_setting_first(tmp_path: Path) -> None:
    misspelt = STACK.replace('settings.int("HTTPS_PORT")', 'settings.int("HTTPS_PROT")')
    with pytest.raises(InvalidStack) as raised:
        load_stack(repo(tmp_path, "", misspelt))
    problem = one(raised.value.problems)
    assert problem.where == "stack.py:6"
    assert "setting HTTPS_PROT is not declared" in problem.message
    assert problem.fix.startswith("did you mean HTTPS_PORT (.env.example:3)? Then read "
                                  "'HTTPS_PORT' in stack.py. If not: add HTTPS_PROT=<default> "
                                  "to .env.example")


def test_a_bad_number_is_one_problem_naming_its_line(tmp_path: Path) -> None:
    """`HTTP_PORT=38O80`: no second problem about the port that stands in for it."""
    stack, problems = load_stack(repo(tmp_path, "HTTPS_PORT=8443\nHTTP_PORT=38O80\n"))
    problem = one(problems)
    assert problem.where == ".env:2"
    assert "HTTP_PORT='38O80' is not a whole number" in problem.message
    assert "e.g. HTTP_PORT=80" in problem.fix  # .env.example's default
    assert check_declaration(stack) == []


def test_only_setting_like_names_are_suggested(tmp_path: Path) -> None:
    """The stack file's other strings ('web', 'nginx:1') make a name known, never a hint."""
    _, problems = load_stack(repo(tmp_path, "WEEB=1\nweb=1\n"))
    problem = one(problems)
    assert problem.where == ".env:1"
    assert not problem.fix.startswith("did you mean")


def test_every_undeclared_read_is_reported_at_once(tmp_path: Path) -> None:
    """declare() stops at the first; it runs again with stand-ins to find the others."""
    misspelt = (STACK.replace('settings.int("HTTPS_PORT")', 'settings.int("HTTPS_PROT")')
                .replace('project="demo"', 'project=settings["PROJECT_NAM"]'))
    with pytest.raises(InvalidStack) as raised:
        load_stack(repo(tmp_path, "", misspelt))
    assert [(p.where, p.message) for p in raised.value.problems] == [
        ("stack.py:6", "setting HTTPS_PROT is not declared (in neither .env.example nor .env)"),
        ("stack.py:9", "setting PROJECT_NAM is not declared (in neither .env.example nor .env)")]


def test_a_misspelt_read_still_lets_the_rest_be_checked(tmp_path: Path) -> None:
    """Its near setting's value stands in (HTTPS_PORT's for HTTPS_PROT): the declaration's
    other problems come in the same pass; none made up by the stand-in (a port 0)."""
    misspelt = (STACK.replace('settings.int("HTTPS_PORT")', 'settings.int("HTTPS_PROT")')
                .replace('ports=ports)', 'ports=ports, networks={"frontnet": None})'))
    with pytest.raises(InvalidStack) as raised:
        load_stack(repo(tmp_path, "", misspelt))
    assert [(p.where, p.message) for p in raised.value.problems] == [
        ("stack.py:6", "setting HTTPS_PROT is not declared (in neither .env.example nor .env)"),
        ("stack.py: services.web.networks.frontnet", "unknown network 'frontnet'")]
