"""Incidents from check results, with the messages they call for. Pure: the state goes in
and comes out as data (kept on the server as JSON between runs).

A check opens an incident after `open_after` failing runs in a row, and resolves it after
`resolve_after` passing runs in a row: one message each, none in between. A check whose
result changed more than `FLAP_CHANGES` times in its last `WINDOW` runs is flapping: one
message says so, then nothing until it has been steady for a whole window, when its state
then is told (if it differs from what was last told). A message that could not be sent
stays due, and is tried again on the next run; nothing else queues.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

WINDOW = 10  # runs remembered per check
FLAP_CHANGES = 4  # changes within the window that make a check flapping


@dataclass(frozen=True)
class CheckState:
    recent: tuple[bool, ...] = ()  # the last WINDOW results, oldest first (True: passed)
    open: bool = False  # an incident is open
    told: str = "resolved"  # what was last sent: resolved, open, flapping
    detail: str = ""  # what the last failing run found
    since: str = ""  # when the incident opened (ISO 8601)

    def changes(self) -> int:
        return sum(a != b for a, b in zip(self.recent, self.recent[1:], strict=False))


@dataclass(frozen=True)
class Due:
    check: str
    state: str  # open, resolved, flapping
    detail: str


@dataclass(frozen=True)
class Result:
    passed: bool
    detail: str = ""  # what was found (failing), or ""


def observe(state: CheckState, result: Result, now: str, open_after: int = 2,
            resolve_after: int = 2) -> CheckState:
    """The check's state after one more run."""
    recent = (*state.recent, result.passed)[-WINDOW:]
    streak = _streak(recent)
    after = replace(state, recent=recent, detail=result.detail or state.detail)
    if not state.open and not result.passed and streak >= open_after:
        return replace(after, open=True, since=now)
    if state.open and result.passed and streak >= resolve_after:
        return replace(after, open=False)
    return after


def due(check: str, state: CheckState) -> Due | None:
    """The message this state calls for, if any."""
    if state.changes() > FLAP_CHANGES:
        return None if state.told == "flapping" else Due(check, "flapping", state.detail)
    steady = len(state.recent) == WINDOW and state.changes() <= 1
    if state.told == "flapping" and not steady:
        return None
    wanted = "open" if state.open else "resolved"
    return None if wanted == state.told else Due(check, wanted, state.detail)


def sent(state: CheckState, message: Due) -> CheckState:
    """The message went out: it is not due again."""
    return replace(state, told=message.state)


def run(states: Mapping[str, CheckState], results: Mapping[str, Result], now: str,
        open_after: int = 2, resolve_after: int = 2
        ) -> tuple[dict[str, CheckState], list[Due]]:
    """Every check's new state and the messages due (the caller marks each `sent`)."""
    after = {name: observe(states.get(name, CheckState()), result, now, open_after,
                           resolve_after) for name, result in results.items()}
    messages = [m for name, state in sorted(after.items()) if (m := due(name, state))]
    return after, messages


def _streak(recent: tuple[bool, ...]) -> int:
    """How many of the newest results are the same as the newest."""
    count = 0
    for passed in reversed(recent):
        if passed != recent[-1]:
            break
        count += 1
    return count
