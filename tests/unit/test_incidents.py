"""Incidents (pure): one message on open and one on resolve, none in between; a message
that could not be sent stays due; a flapping check says so once instead of flooding."""

from __future__ import annotations

import json

from pojemnik.agent.alerts.incidents import WINDOW, CheckState, Due, Result, run, sent

FAIL, PASS = Result(False, "app.example.org answers 502"), Result(True)


def drive(results: list[Result], deliver: bool = True, **limits: int
          ) -> tuple[list[Due], dict[str, CheckState]]:
    states: dict[str, CheckState] = {}
    told: list[Due] = []
    for n, result in enumerate(results):
        states, messages = run(states, {"site": result}, f"t{n}", **limits)
        for message in messages:
            told.append(message)
            if deliver:
                states["site"] = sent(states["site"], message)
    return told, states


def test_one_message_when_it_opens_and_one_when_it_resolves() -> None:
    told, states = drive([PASS, FAIL, FAIL, FAIL, FAIL, PASS, PASS, PASS])
    assert [(m.state, m.detail) for m in told] == [
        ("open", "app.example.org answers 502"), ("resolved", "app.example.org answers 502")]
    assert not states["site"].open and states["site"].since == "t2"


def test_one_failing_run_opens_nothing() -> None:
    assert drive([FAIL, PASS, FAIL, PASS])[0] == []


def test_a_message_not_sent_stays_due_and_is_sent_once_it_goes() -> None:
    told, states = drive([FAIL, FAIL, FAIL], deliver=False)
    assert [m.state for m in told] == ["open", "open"]  # tried again on each run
    states, messages = run(states, {"site": FAIL}, "t9")
    assert [m.state for m in messages] == ["open"]
    states = {"site": sent(states["site"], messages[0])}
    assert run(states, {"site": FAIL}, "t10")[1] == []


def test_a_flapping_check_says_so_once_then_its_steady_state() -> None:
    flapping = [FAIL, PASS] * 10
    told, _ = drive(flapping, open_after=1, resolve_after=1)
    assert [m.state for m in told].count("flapping") == 1
    assert len(told) <= 6  # a few changes before it counts as flapping, then quiet
    told_after, _ = drive(flapping + [FAIL] * (WINDOW + 2), open_after=1, resolve_after=1)
    assert [m.state for m in told_after][len(told):] == ["open"]


def test_what_was_told_is_kept_per_channel() -> None:
    states, messages = run({}, {"site": FAIL}, "t0", open_after=1, channels=["email", "hook"])
    assert [(m.channel, m.state) for m in messages] == [("email", "open"), ("hook", "open")]
    states = {"site": sent(states["site"], messages[1])}  # the email did not go out
    states, messages = run(states, {"site": FAIL}, "t1", open_after=1,
                           channels=["email", "hook"])
    assert [(m.channel, m.state) for m in messages] == [("email", "open")]


def test_a_skipped_check_keeps_its_state_and_an_undeclared_one_is_forgotten() -> None:
    states, _ = run({}, {"site": FAIL, "gone": FAIL}, "t0", open_after=1)
    states, _ = run(states, {}, "t1", skipped=["site"])
    assert list(states) == ["site"] and states["site"].open


def test_the_state_survives_its_json() -> None:
    states, messages = run({}, {"site": FAIL}, "t0", open_after=1, channels=["email"])
    state = sent(states["site"], messages[0])
    assert CheckState.from_json(json.loads(json.dumps(state.as_json()))) == state
