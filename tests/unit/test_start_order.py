"""The order a deploy starts containers in: waves by readiness, and inside a wave after
the services needed only started (`Started`)."""

from __future__ import annotations

import threading

import pytest
from stackbuilders import with_service

from pojemnik import Stack, Started
from pojemnik.declaration.order import start_waves, startup_order
from pojemnik.errors import OperationError
from pojemnik.operations.host.converge import StartedSignals
from pojemnik.planning import plan as p
from pojemnik.planning.plan import make_plan
from pojemnik.planning.state import Observed


def created(stack: Stack) -> dict[str, tuple[int, tuple[str, ...]]]:
    plan = make_plan(stack, Observed())
    return {a.target: (a.wave, a.after) for a in plan.of_kind(p.CREATE)}


def test_plain_names_wait_for_ready_in_waves(stack: Stack) -> None:
    assert start_waves(stack) == startup_order(stack) == [["db"], ["app", "php"], ["proxy"]]
    assert created(stack) == {"demo-db": (0, ()), "demo-app": (1, ()), "demo-php": (1, ()),
                              "demo-proxy": (2, ())}


def test_started_dependencies_share_a_wave_and_come_after(stack: Stack) -> None:
    stack = with_service(stack, "php", depends_on=[Started("db")])
    stack = with_service(stack, "app", depends_on=[Started("db")])
    stack = with_service(stack, "proxy", depends_on=[Started("php"), Started("app")])
    assert start_waves(stack) == [["db", "app", "php", "proxy"]]
    assert created(stack) == {"demo-db": (0, ()), "demo-app": (0, ("demo-db",)),
                              "demo-php": (0, ("demo-db",)),
                              "demo-proxy": (0, ("demo-php", "demo-app"))}
    # Stopping still goes the other way round, by every dependency.
    assert startup_order(stack) == [["db"], ["app", "php"], ["proxy"]]


def test_one_ready_dependency_is_enough_for_a_new_wave(stack: Stack) -> None:
    stack = with_service(stack, "php", depends_on=[Started("db")])
    stack = with_service(stack, "proxy", depends_on=[Started("php"), "app"])
    # app waits for db ready (wave 1); the proxy for app ready (wave 2), php only started.
    assert start_waves(stack) == [["db", "php"], ["app"], ["proxy"]]
    assert created(stack)["demo-proxy"] == (2, ("demo-php",))


def test_a_started_chain_is_ordered_inside_its_wave(stack: Stack) -> None:
    stack = with_service(stack, "app", depends_on=[Started("php")])
    stack = with_service(stack, "php", depends_on=[Started("db")])
    stack = with_service(stack, "proxy", depends_on=[Started("app")])
    assert start_waves(stack) == [["db", "php", "app", "proxy"]]


def test_started_is_a_name() -> None:
    assert Started("db") == "db" and {Started("db")} == {"db"}
    assert repr(Started("db")) == "Started('db')"


def test_a_waiter_goes_once_its_dependency_started() -> None:
    signals = StartedSignals(["demo-db", "demo-app"])
    went = threading.Event()

    def app() -> None:
        signals.wait_for(["demo-db", "demo-elsewhere"], "demo-app")  # not in the wave: no wait
        went.set()

    waiter = threading.Thread(target=app)
    waiter.start()
    assert not went.wait(0.2)
    signals.mark("demo-db")
    waiter.join(5)
    assert went.is_set()


def test_a_dependency_that_failed_to_start_fails_its_waiters() -> None:
    signals = StartedSignals(["demo-db", "demo-app"])
    signals.mark("demo-db", ok=False)
    with pytest.raises(OperationError, match="demo-app: not started, demo-db did not start"):
        signals.wait_for(["demo-db"], "demo-app")


def test_started_then_not_ready_does_not_fail_those_already_started() -> None:
    signals = StartedSignals(["demo-db"])
    signals.mark("demo-db")
    signals.mark("demo-db", ok=False)  # its readiness failed later: the deploy fails on that
    signals.wait_for(["demo-db"], "demo-app")


def test_an_unknown_started_dependency_is_named_plainly(stack: Stack) -> None:
    from pojemnik.declaration.validate.stack import check_declaration

    problems = check_declaration(with_service(stack, "proxy", depends_on=[Started("phpp")]))
    assert any("unknown service 'phpp'" in str(problem) for problem in problems), problems
