"""Incidents from check results, with the messages they call for. Pure: the state goes in
and comes out as data (kept in the agent's state directory as JSON between runs).

A check opens an incident after `open_after` failing runs in a row, and resolves it after
`resolve_after` passing runs in a row: one message each, none in between. A check whose
result changed more than `FLAP_CHANGES` times in its last `WINDOW` runs is flapping: one
message says so, then nothing until it has been steady for a whole window, when its state
then is told (if it differs from what was last told). What was told is kept per channel:
a message that one channel could not take stays due there only, and is tried again on the
next run (at most one message per check and channel is ever due; nothing else queues).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

WINDOW = 10  # runs remembered per check
FLAP_CHANGES = 4  # changes within the window that make a check flapping


class CheckState(NamedTuple):
    recent: tuple[bool, ...] = ()  # the last WINDOW results, oldest first (True: passed)
    open: bool = False  # an incident is open
    detail: str = ""  # what the last failing run found
    since: str = ""  # when the incident opened (ISO 8601)
    told: Mapping[str, str] = {}  # never changed in place; channel -> resolved/open/flapping

    def changes(self) -> int:
        return sum(a != b for a, b in zip(self.recent, self.recent[1:], strict=False))

    def as_json(self) -> dict[str, Any]:
        return {"recent": list(self.recent), "open": self.open, "detail": self.detail,
                "since": self.since, "told": dict(self.told)}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> CheckState:
        return CheckState(tuple(bool(r) for r in data.get("recent", ()))[-WINDOW:],
                          bool(data.get("open")), str(data.get("detail", "")),
                          str(data.get("since", "")),
                          {str(k): str(v) for k, v in dict(data.get("told", {})).items()})


class Due(NamedTuple):
    check: str
    state: str  # open, resolved, flapping
    detail: str
    channel: str = ""


class Result(NamedTuple):
    passed: bool
    detail: str = ""  # what was found (failing), or ""


def observe(state: CheckState, result: Result, now: str, open_after: int = 2,
            resolve_after: int = 2) -> CheckState:
    """The check's state after one more run."""
    recent = (*state.recent, result.passed)[-WINDOW:]
    streak = _streak(recent)
    after = state._replace(recent=recent, detail=result.detail or state.detail)
    if not state.open and not result.passed and streak >= open_after:
        return after._replace(open=True, since=now, detail=result.detail)
    if state.open and result.passed and streak >= resolve_after:
        return after._replace(open=False)
    return after


def due(check: str, state: CheckState, channel: str = "") -> Due | None:
    """The message this state calls for on `channel`, if any."""
    told = state.told.get(channel, "resolved")
    if state.changes() > FLAP_CHANGES:
        return None if told == "flapping" else Due(check, "flapping", state.detail, channel)
    steady = len(state.recent) == WINDOW and state.changes() <= 1
    if told == "flapping" and not steady:
        return None
    wanted = "open" if state.open else "resolved"
    return None if wanted == told else Due(check, wanted, state.detail, channel)


def sent(state: CheckState, message: Due) -> CheckState:
    """The message went out on its channel: it is not due there again."""
    return state._replace(told={**state.told, message.channel: message.state})


def run(states: Mapping[str, CheckState], results: Mapping[str, Result], now: str,
        open_after: int = 2, resolve_after: int = 2, channels: Iterable[str] = ("",),
        skipped: Iterable[str] = ()) -> tuple[dict[str, CheckState], list[Due]]:
    """Every check's new state and the messages due on each channel (the caller marks each
    one `sent`). A check in `skipped` (not run this time) keeps its state; one neither run
    nor skipped is no longer declared and is forgotten."""
    keep = set(skipped)
    after = {name: state for name, state in states.items()
             if name in keep and name not in results}
    after |= {name: observe(states.get(name, CheckState()), result, now, open_after,
                            resolve_after) for name, result in results.items()}
    names = list(channels)
    messages = [m for name, state in sorted(after.items()) for channel in names
                if (m := due(name, state, channel))]
    return after, messages


def open_incidents(states: Mapping[str, CheckState]) -> list[tuple[str, CheckState]]:
    return [(name, state) for name, state in sorted(states.items()) if state.open]


def _streak(recent: tuple[bool, ...]) -> int:
    """How many of the newest results are the same as the newest."""
    count = 0
    for passed in reversed(recent):
        if passed != recent[-1]:
            break
        count += 1
    return count
