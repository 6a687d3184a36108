"""The example declaration (stack.py at the repository root), loaded as `invoke` loads it.

Settings come from the process environment (monkeypatched), which wins over any .env
lying in the repository, so the outcome does not depend on a developer's .env.
"""

from __future__ import annotations

import pytest
from stackbuilders import EXAMPLE_ROOT, EXAMPLE_SETTINGS

from pojemnik import Stack
from pojemnik.declaration.loader import load_stack
from pojemnik.declaration.order import startup_order
from pojemnik.declaration.units import memory_bytes
from pojemnik.planning import plan as p
from pojemnik.planning.checks import validate
from pojemnik.planning.plan import make_plan
from pojemnik.planning.state import Observed

ROOT, SETTINGS = EXAMPLE_ROOT, EXAMPLE_SETTINGS


def test_example_is_valid_against_an_empty_engine(example: Stack) -> None:
    assert validate(example, Observed()) == []


def test_example_takes_its_settings_from_the_environment(example: Stack) -> None:
    assert example.project == "pojemnik-unit"
    proxy = example.service("proxy")
    assert [(port.address, port.host, port.container) for port in proxy.ports] == [
        ("127.0.0.1", 18080, 8080), ("127.0.0.1", 18443, 8443)]


def test_example_subnets_move_fixed_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SETTINGS, "SERVICES_SUBNET": "10.77.0.0/24"}.items():
        monkeypatch.setenv(name, value)
    stack, problems = load_stack(ROOT)
    assert problems == []
    assert validate(stack, Observed()) == []
    plan = make_plan(stack, Observed())
    proxy = next(a.container for a in plan.of_kind(p.CREATE) if a.target.endswith("-proxy"))
    assert proxy is not None
    assert proxy.networks[0].ip == "10.77.0.3"


def test_example_bad_port_setting_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SETTINGS, "HTTP_PORT": "http"}.items():
        monkeypatch.setenv(name, value)
    _, problems = load_stack(ROOT)
    assert len(problems) == 1
    assert problems[0].where == "the environment"
    assert "HTTP_PORT='http'" in problems[0].message


def test_proxy_is_not_on_the_isolated_network(example: Stack) -> None:
    assert set(example.service("proxy").networks) == {"services"}


def test_db_is_only_on_the_isolated_network(example: Stack) -> None:
    assert set(example.service("db").networks) == {"isolated"}
    assert example.network("isolated").internal
    assert not example.service("db").ports


def test_every_service_is_read_only(example: Stack) -> None:
    assert [s.name for s in example.services if not s.read_only] == []


def test_memory_limits_fit_a_2gb_host(example: Stack) -> None:
    total = sum(memory_bytes(s.limits.memory) for s in example.services)
    assert total <= 2 * 1024**3


def test_example_starts_db_and_php_then_app_and_proxy(example: Stack) -> None:
    """Each needs the one before only started (`Started`): in one wave, in that order;
    but the app's release command (its migrate) needs the database ready, so the app
    starts a wave later, the proxy right after it; `down` stops them the other way round."""
    plan = make_plan(example, Observed())
    creates = [a for a in plan.of_kind(p.CREATE) if a.container]
    assert [(a.container.service, a.wave) for a in creates if a.container] == \
        [("db", 0), ("php", 0), ("app", 1), ("proxy", 1)]
    after = {a.target.removeprefix(f"{example.project}-"): a.after for a in creates}
    db, app, php = (example.container_name(n) for n in ("db", "app", "php"))
    assert after == {"db": (), "app": (), "php": (db,), "proxy": (php, app)}
    assert startup_order(example) == [["db"], ["app", "php"], ["proxy"]]


def test_least_privilege_settings_follow_the_subnets(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = {"ISOLATED_SUBNET": "10.66.0.0/24", "SERVICES_SUBNET": "10.77.0.0/24"}
    for name, value in {**SETTINGS, **changed}.items():
        monkeypatch.setenv(name, value)
    stack, problems = load_stack(ROOT)
    assert problems == []
    # pg_hba takes the app's role from the isolated subnet only
    assert stack.service("db").environment["DB_ALLOWED_NETWORKS"] == "10.66.0.0/24"
    # php-fpm answers the proxy's address only
    assert stack.service("proxy").networks["services"] == 3
    assert stack.service("php").environment["FPM_ALLOWED_CLIENTS"] == "10.77.0.3"


def test_app_version_and_failing_health_come_from_settings(
        monkeypatch: pytest.MonkeyPatch, example: Stack) -> None:
    assert example.service("app").environment["APP_VERSION"] == "1"
    assert example.service("app").environment["APP_FAIL_HEALTH"] == "0"
    monkeypatch.setenv("APP_VERSION", "7")
    stack, _ = load_stack(ROOT)
    assert stack.service("app").environment["APP_VERSION"] == "7"
