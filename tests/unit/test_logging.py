"""Bounded logs: rotation in every container's spec, in the bash script and the compose
file; `logs --since` forms."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from stackbuilders import converged, one, with_service

from pojemnik import Logs, Stack
from pojemnik.declaration.units import since_timestamp
from pojemnik.planning import plan as p
from pojemnik.planning.checks import validate
from pojemnik.planning.compose import compose_document, to_yaml
from pojemnik.planning.plan import make_plan
from pojemnik.planning.render import bash
from pojemnik.planning.spec import container_spec
from pojemnik.planning.state import Observed

DEFAULT = {"max-size": "10m", "max-file": "3"}


def test_every_container_rotates_its_logs_by_default(stack: Stack) -> None:
    for service in stack.services:
        spec = container_spec(stack, service)
        assert spec.logging.driver == "json-file"
        assert spec.logging.options == DEFAULT


def test_stack_and_service_declare_their_own_rotation(stack: Stack) -> None:
    small = replace(stack, logs=Logs(max_size="1m", max_files=2))
    small = with_service(small, "db", logs=Logs(max_size="50m", max_files=5))
    assert container_spec(small, small.service("proxy")).logging.options == {
        "max-size": "1m", "max-file": "2"}
    assert container_spec(small, small.service("db")).logging.options == {
        "max-size": "50m", "max-file": "5"}


def test_changed_rotation_recreates_the_container(stack: Stack) -> None:
    observed = converged(stack)
    changed = with_service(stack, "db", logs=Logs(max_size="20m"))
    action = one_action(make_plan(changed, observed))
    assert action.target == "demo-db"
    assert "logging" in action.reason


def one_action(plan: p.Plan) -> p.Action:
    assert len(plan.actions) == 1, plan.actions
    return plan.actions[0]


def test_bash_passes_the_log_options(stack: Stack) -> None:
    script = bash(make_plan(stack, Observed())).replace(" \\\n  ", " ")
    creates = [line for line in script.splitlines() if line.startswith("docker container create")]
    assert len(creates) == 4
    for line in creates:
        assert "--log-driver json-file --log-opt max-file=3 --log-opt max-size=10m" in line


def test_compose_sets_logging(stack: Stack) -> None:
    doc = compose_document(stack)
    for entry in doc["services"].values():
        assert entry["logging"] == {"driver": "json-file", "options": DEFAULT}
    assert 'max-file: "3"' in to_yaml(doc)  # a string, as Compose wants


def test_bad_rotation_is_a_problem(stack: Stack) -> None:
    problem = one(validate(with_service(stack, "db", logs=Logs(max_size="lots")), Observed()))
    assert problem.where == "stack.py: services.db.logs.max_size"
    problems = validate(replace(stack, logs=Logs(max_files=0)), Observed())
    assert one(problems).where == "stack.py: logs.max_files"


# --- logs --since -------------------------------------------------------------------------

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("text", "seconds"), [
    ("10m", 600), ("1h", 3600), ("45s", 45), ("1h30m", 5400), ("1.5h", 5400),
    ("500ms", 0.5)])
def test_since_durations_count_back_from_now(text: str, seconds: float) -> None:
    assert since_timestamp(text, NOW) == NOW - seconds


def test_since_takes_timestamps_and_rfc3339_dates() -> None:
    assert since_timestamp("1700000000", NOW) == 1_700_000_000
    stamp = datetime(2026, 11, 27, 10, 0, tzinfo=UTC).timestamp()
    assert since_timestamp("2026-11-27T10:00:00Z", NOW) == stamp
    assert since_timestamp("2026-11-27T11:00:00+01:00", NOW) == stamp


@pytest.mark.parametrize("text", ["yesterday", "10x", "m10", ""])
def test_since_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        since_timestamp(text, NOW)
