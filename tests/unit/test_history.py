"""The audit log: one line per applied deploy, read back in order."""

from __future__ import annotations

from pojemnik import Stack
from pojemnik.hostfiles.files import LocalFiles
from pojemnik.operations.records.history import entries, record
from pojemnik.planning import plan as p


def test_each_deploy_adds_one_line(stack: Stack) -> None:
    files = LocalFiles()
    plan = p.Plan(stack.project, [p.Action(p.RECREATE, "demo-app", "drifted: environment")])
    record(stack, files, plan, "ok")
    record(stack, files, plan, "failed: demo-app-next is not ready")
    first, second = entries(stack, files)
    assert first["what"] == ["recreate demo-app: drifted: environment"]
    assert first["summary"].startswith("built 0, created 0, recreated 1")
    assert (first["result"], second["result"]) == ("ok", "failed: demo-app-next is not ready")
    assert "@" in first["who"] and first["when"] <= second["when"]
    assert (stack.root / ".pojemnik" / "demo" / "history.log").is_file()
