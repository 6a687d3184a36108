"""A service's release command (`Service(release=...)`): once per deploy that changes the
service, in a one-off container of the new version, before the new version takes any
traffic. Its output is shown as it comes; a failure (or its timeout) refuses the deploy
while the old version keeps serving."""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace

from ...console import Say
from ...declaration.release import needs_maintenance
from ...engine.backend import Engine
from ...engine.session import Session
from ...errors import DockerError, Refused
from ...planning import plan as p
from ...planning.oneoff import release_spec
from ..records.release_runs import TAIL, ReleaseRun, started_now

CHANGING = (p.CREATE, p.RECREATE, p.RELOAD)  # a new image or configuration
# The sites in maintenance around a command (`Release(..., maintenance=True)`), by service.
Gate = Callable[[str], AbstractContextManager[None]]


class ReleaseFailed(Refused):
    """The release command failed: nothing of the new version was started or loaded."""


def run_release(action: p.Action, engine: Engine, say: Say, gate: Gate | None = None,
                runs: list[ReleaseRun] | None = None) -> None:
    """`runs` receives what ran (for `rollback` to show), also when it failed."""
    spec = action.container
    if spec is None or spec.release is None or action.kind not in CHANGING:
        return
    once = release_spec(spec)
    started = started_now()
    say(f"container {action.target}: release command `{spec.release}` in {once.name}")
    lines = SaidLines(say, f"  {spec.service} release | ")
    code: int | None = None
    around = gate(spec.service) if gate is not None and needs_maintenance(spec.release) \
        else nullcontext()
    try:
        with around:
            code = engine.run_once(once, Session(tty=False, stdin=None, stdout=lines,
                                                  stderr=lines, timeout=spec.release_timeout))
        why = f"exit code {code}" if code else ""
    except DockerError as error:
        code, why = -1, str(error).splitlines()[0]
    finally:
        lines.finish()
        if runs is not None:  # (list.append is atomic: a wave's threads share it)
            runs.append(ReleaseRun(spec.service, str(spec.release), started,
                                   code if code is not None else -1, tuple(lines.tail)))
    if code == 0:
        say(f"container {action.target}: release command done")
        return
    kept = "nothing (no version ran before)" if action.kind == p.CREATE else \
        f"{action.target} (the old version)"
    raise ReleaseFailed(f"{action.target}: the release command `{spec.release}` failed "
                        f"({why}); nothing of the new version was started or loaded; "
                        f"serving: {kept}", by=f"the release command ({why})", kept=kept)


class SaidLines(io.RawIOBase):
    """A byte stream said line by line, each with a prefix (the host's under `fab -H`)."""

    def __init__(self, say: Say, prefix: str) -> None:
        self.say, self.prefix, self.pending = say, prefix, b""
        self.tail: deque[str] = deque(maxlen=TAIL)  # the last lines, for the record

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        *whole, self.pending = (self.pending + bytes(data)).split(b"\n")
        for line in whole:
            self._line(line.decode(errors="replace").rstrip("\r"))
        return len(data)

    def flush(self) -> None:
        """Nothing: the engine flushes after every frame it hands over, and a frame may end
        in the middle of a line, which must not be said in two halves."""

    def finish(self) -> None:
        """The command has ended: its last line, if it had no newline."""
        if self.pending:
            self._line(self.pending.decode(errors="replace"))
            self.pending = b""

    def _line(self, text: str) -> None:
        self.tail.append(text)
        self.say(self.prefix + text)


def not_run_backwards(plan: p.Plan, say: Say,
                      ran: dict[str, list[ReleaseRun] | None] | None = None) -> p.Plan:
    """A rollback runs no release command: the old version's cannot undo what a newer one
    did (Django's migrate never unapplies). Said, so whoever rolls back knows the data
    stays as the newer release left it, with the runs since the release it goes back to
    went live (`ran`, per service; None: none recorded, so unknown)."""
    actions = []
    for action in plan.actions:
        spec = action.container
        if spec is not None and spec.release is not None:
            runs = (ran or {}).get(spec.service)
            say(f"rollback: warning: {spec.service}'s release command (`{spec.release}`) is "
                "not run backwards: what the newer releases' commands changed (migrations "
                "applied) stays; the old code runs on it. To undo it, run the reverse by "
                f"hand first, e.g. `invoke run {spec.service} \"...migrate APP NUMBER\"`")
            if runs:
                say(f"rollback: {spec.service}: what its release commands ran since the "
                    f"release it goes back to went live ({len(runs)}):")
                for run in runs:
                    for line in run.lines():
                        say(line)
            elif runs is not None:
                say(f"rollback: {spec.service}: no release command ran since the release "
                    "it goes back to went live")
            action = replace(action, container=replace(spec, release=None))
        actions.append(action)
    return replace(plan, actions=actions)
