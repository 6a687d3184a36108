"""`pojemnik init --template`: every template makes a project that loads, validates and
plans as is (`invoke check` without the engine's part; the deploys:
tests/integration/test_scaffold*.py), and proxy-app shows the proxy pattern."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pojemnik import StartFirst, StopFirst
from pojemnik.declaration.loader import load_stack
from pojemnik.planning.checks import validate
from pojemnik.planning.plan import make_plan
from pojemnik.planning.state import Observed
from pojemnik.scaffold import make, make_project
from pojemnik.scaffold.cli import main
from pojemnik.scaffold.templates import DEFAULT, TEMPLATES

SETTINGS = ["POJEMNIK_PROJECT", "POJEMNIK_TARGET", "HTTP_PORT", "WEB_PORT", "PUBLISH_ADDRESS",
            "WEB_SUBNET", "FRONT_SUBNET", "BACKEND_SUBNET", "BASE_IMAGE"]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The made project's defaults, not whatever this shell exports."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_each_template_makes_a_project_that_checks_and_plans(
        template: str, tmp_path: Path, clean_env: None) -> None:
    make_project(tmp_path, "demo", template=template)
    stack, problems = load_stack(tmp_path)
    assert problems == []
    assert validate(stack, Observed()) == []
    plan = make_plan(stack, Observed())
    assert plan.actions  # an empty engine: everything to build, create and run
    for image in stack.images:
        dockerfile = (tmp_path / image.context_path / "Dockerfile").read_text()
        assert "ARG BASE_IMAGE" in dockerfile and "FROM ${BASE_IMAGE}" in dockerfile
    for service in stack.services:
        assert service.read_only and service.healthcheck is not None, service.name


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_each_template_passes_ruff(template: str, tmp_path: Path) -> None:
    make_project(tmp_path, template=template)
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--line-length", "100",
         "--select", "E,F,W,I,B,UP,SIM,RUF", "--target-version", "py311", str(tmp_path)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_proxy_app_shows_upstreams_start_first_and_a_healthcheck_without_http(
        tmp_path: Path, clean_env: None) -> None:
    make_project(tmp_path, "demo", template="proxy-app")
    source = (tmp_path / "stack.py").read_text()
    assert "Upstreams(" in source and "StartFirst(" in source
    stack, _ = load_stack(tmp_path)
    proxy, app = stack.service("proxy"), stack.service("app")
    assert proxy.upstreams is not None and dict(proxy.upstreams.ports) == {"app": 8080}
    assert [(p.address, p.host, p.container) for p in proxy.ports] == [
        ("127.0.0.1", 8080, 8080)]
    assert isinstance(app.update, StartFirst) and not app.ports
    # The sites' variable is the one pojemnik's upstream file defines.
    assert "proxy_pass http://$pojemnik_app;" in (
        tmp_path / "config/proxy/nginx.conf").read_text()
    worker, redis = stack.service("worker"), stack.service("redis")
    assert worker.healthcheck is not None and "curl" not in worker.healthcheck.test
    assert not worker.ports and isinstance(redis.update, StopFirst)
    assert stack.network("backend").internal and dict(redis.networks) == {"backend": 2}
    assert {v.name for v in stack.volumes} == {"redis-data"}


def test_every_shipped_template_file_is_written_by_some_template() -> None:
    package = Path(make.__file__).parent
    shipped = {f"{folder.name}/{p.name}" for folder in package.iterdir()
               if folder.name.endswith("-template") for p in folder.iterdir()}
    assert shipped == {f.template for t in TEMPLATES.values() for f in t.files}


def test_the_package_data_ships_every_template_folder() -> None:
    pyproject = (Path(make.__file__).parents[2] / "pyproject.toml").read_text()
    package = Path(make.__file__).parent
    for folder in package.iterdir():
        if folder.name.endswith("-template"):
            assert f'"{folder.name}/*.tmpl"' in pyproject


def test_init_takes_a_template_and_says_how_to_try_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "api"), "--template", "proxy-app"]) == 0
    out = capsys.readouterr().out
    assert "from the proxy-app template" in out and "/jobs" in out
    assert (tmp_path / "api/images/proxy/reload.sh").is_file()


def test_an_unknown_template_is_refused_naming_the_known_ones(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["init", str(tmp_path), "--template", "django"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "'django'" in err and "static" in err and "proxy-app" in err
    assert list(tmp_path.iterdir()) == []


def test_list_templates_says_which_to_start_from(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--list-templates", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in TEMPLATES:
        assert f"  {name} " in out
    assert "(the default)" in out and DEFAULT == "static"
    assert list(tmp_path.iterdir()) == []  # lists, makes nothing
    assert max(len(line) for line in out.splitlines()) <= 100
