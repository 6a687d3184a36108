"""A reload returns once the new config is live: a declared probe, else new processes."""

from __future__ import annotations

from typing import Any

import pytest

from pojemnik import Reload
from pojemnik.errors import OperationError
from pojemnik.operations.host._reload import ConfigRejected, reload_service


class FakeEngine:
    """Runs nothing: each `processes` call returns the next set; exec answers by command."""

    def __init__(self, processes: list[set[str]], codes: dict[str, int] | None = None) -> None:
        self.sets, self.codes, self.ran = list(processes), codes or {}, []

    def processes(self, name: str) -> set[str]:
        return self.sets.pop(0) if len(self.sets) > 1 else self.sets[0]

    def exec(self, name: str, command: list[str]) -> tuple[int, str]:
        self.ran.append(command[0])
        return self.codes.get(command[0], 0), f"{command[0]} said no"


def reload(engine: Any, spec: Reload) -> list[str]:
    said: list[str] = []
    reload_service(engine, "demo-proxy", spec, said.append)
    return said


def test_waits_for_new_processes() -> None:
    engine = FakeEngine([{"1", "7"}, {"1", "7"}, {"1", "7"}, {"1", "8"}])
    assert reload(engine, Reload(["reload"], check=["check"])) == []
    assert engine.ran == ["check", "reload"] and engine.sets == [{"1", "8"}]


def test_a_declared_live_probe_decides() -> None:
    engine = FakeEngine([{"1"}])
    assert reload(engine, Reload(["reload"], live=["probe"])) == []
    assert engine.ran == ["reload", "probe"]


def test_a_rejected_config_is_not_reloaded() -> None:
    engine = FakeEngine([{"1"}], codes={"check": 1})
    with pytest.raises(ConfigRejected, match="check said no") as rejected:
        reload(engine, Reload(["reload"], check=["check"]))
    assert engine.ran == ["check"]
    # What `history` says of it: which check refused, and what kept serving.
    assert rejected.value.by == "the config check `check` in demo-proxy"
    assert rejected.value.kept == "demo-proxy (with its running config)"


def test_says_so_when_no_new_processes_appear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pojemnik.operations.host._reload.LIVE_TIMEOUT", 0.05)
    said = reload(FakeEngine([{"1"}]), Reload(["reload"]))
    assert said and "no new processes seen" in said[0]


def test_a_declared_probe_that_never_passes_fails_the_reload(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pojemnik.operations.host._reload.LIVE_TIMEOUT", 0.05)
    engine = FakeEngine([{"1"}], codes={"probe": 1})
    with pytest.raises(OperationError, match=r"`probe` did not pass within 0\.05 s"):
        reload(engine, Reload(["reload"], live=["probe"]))
