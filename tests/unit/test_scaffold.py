"""`pojemnik init`: the files it makes, its refusal to overwrite, and that the made
stack loads and validates (the deploy itself: tests/integration/test_scaffold.py)."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

from pojemnik.declaration.loader import load_stack
from pojemnik.planning.checks import validate
from pojemnik.planning.state import Observed
from pojemnik.scaffold import Conflict, make_project, project_name
from pojemnik.scaffold.cli import main

MADE = [".env.example", ".gitignore", "config/web/nginx.conf", "fabfile.py", "fabric.yaml",
        "images/web/Dockerfile", "stack.py", "tasks.py", "www/index.html"]
SETTINGS = ["POJEMNIK_PROJECT", "WEB_PORT", "PUBLISH_ADDRESS", "WEB_SUBNET", "BASE_IMAGE"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The made project's defaults, not whatever this shell exports."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


def made(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_init_makes_the_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "My Site!")]) == 0
    root = tmp_path / "My Site!"
    assert made(root) == sorted(MADE)
    assert "POJEMNIK_PROJECT=my-site\n" in (root / ".env.example").read_text()
    ignored = (root / ".gitignore").read_text().splitlines()
    assert {".env", ".secrets/", ".pojemnik/", ".venv/"} <= set(ignored)
    assert (root / "fabric.yaml").read_text() == (REPO / "fabric.yaml").read_text()
    assert "<title>my-site</title>" in (root / "www/index.html").read_text()
    assert "invoke deploy" in capsys.readouterr().out


def test_the_made_stack_loads_and_validates(tmp_path: Path, clean_env: None) -> None:
    make_project(tmp_path, "demo-site")
    stack, problems = load_stack(tmp_path)
    assert problems == []
    assert validate(stack, Observed()) == []
    assert stack.project == "demo-site"
    assert stack.base_image == "debian:bookworm-slim"
    web = stack.service("web")
    assert [(p.address, p.host, p.container) for p in web.ports] == [("127.0.0.1", 8080, 8080)]
    assert web.read_only and web.healthcheck is not None
    assert dict(web.networks) == {"web": 2}


def test_the_made_dockerfile_follows_the_hardening_conventions(tmp_path: Path) -> None:
    make_project(tmp_path)
    dockerfile = (tmp_path / "images/web/Dockerfile").read_text()
    assert "ARG BASE_IMAGE" in dockerfile and "FROM ${BASE_IMAGE}" in dockerfile
    assert "USER ${WEB_UID}:${WEB_GID}" in dockerfile
    nginx = (tmp_path / "config/web/nginx.conf").read_text()
    assert "listen 8080" in nginx and "pid /tmp/nginx.pid;" in nginx


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stack.py").write_text("# mine\n")
    assert main(["init", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "exist already, nothing was written" in err and "stack.py" in err
    assert "--force" in err
    assert made(tmp_path) == ["stack.py"]
    assert (tmp_path / "stack.py").read_text() == "# mine\n"


def test_init_force_overwrites(tmp_path: Path) -> None:
    (tmp_path / "stack.py").write_text("# mine\n")
    with pytest.raises(Conflict) as conflict:
        make_project(tmp_path)
    assert conflict.value.paths == [tmp_path / "stack.py"]
    assert main(["init", "--force", str(tmp_path)]) == 0
    assert "def declare" in (tmp_path / "stack.py").read_text()


def test_init_refuses_a_project_name_docker_cannot_use(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--project", "My_Site", str(tmp_path)]) == 2
    assert "--project 'My_Site'" in capsys.readouterr().err
    assert made(tmp_path) == []


@pytest.mark.parametrize(("directory", "name"), [
    ("site", "site"), ("My Site!", "my-site"), ("__", "site"), ("a.b_c", "a-b-c")])
def test_project_name_from_the_directory(directory: str, name: str) -> None:
    assert project_name(Path("/srv") / directory) == name


def test_pojemnik_is_a_console_script_of_the_package() -> None:
    scripts = entry_points(group="console_scripts")
    assert [e.value for e in scripts if e.name == "pojemnik"] == ["pojemnik.scaffold.cli:main"]


def test_the_default_template_is_static(tmp_path: Path) -> None:
    assert sorted(str(p.relative_to(tmp_path)) for p in make_project(tmp_path)) == sorted(MADE)
