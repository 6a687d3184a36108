"""The audit log: one line per applied deploy, read back in order, and shown as a table
that fits 100 columns (planning/history_view.py)."""

from __future__ import annotations

from pojemnik import Stack
from pojemnik.errors import OperationError
from pojemnik.hostfiles.files import LocalFiles
from pojemnik.operations.host._update import UpdateRefused
from pojemnik.operations.records.history import entries, record
from pojemnik.planning import plan as p
from pojemnik.planning.history_view import compact, log_lines


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


def refused_deploy(stack: Stack) -> dict[str, object]:
    """The log line of a start-first update whose new container never got ready."""
    files = LocalFiles()
    plan = p.Plan(stack.project, [p.Action(p.RECREATE, "demo-app", "drifted: environment")])
    error = UpdateRefused("demo-app: the new container did not become ready, so it is "
                          "removed and the old one keeps serving (nothing switched).\n"
                          "demo-app-next is not ready: its health command did not pass",
                          by="the readiness check of demo-app-next (its health command "
                             "did not pass within 120 s)",
                          kept="demo-app (the old container)")
    record(stack, files, plan, "failed: ...", error=error, done=[])
    (entry,) = entries(stack, files)
    return entry


def test_a_refused_deploy_records_the_check_and_what_kept_serving(stack: Stack) -> None:
    entry = refused_deploy(stack)
    assert str(entry["result"]).startswith("refused: demo-app: the new container did not")
    assert entry["refused"] == {"by": "the readiness check of demo-app-next (its health "
                                      "command did not pass within 120 s)",
                                "kept": "demo-app (the old container)"}
    assert entry["done"] == []


def test_a_failure_records_what_it_did_first(stack: Stack) -> None:
    files = LocalFiles()
    done = p.Action(p.CREATE, "demo-db", "not running")
    plan = p.Plan(stack.project, [done, p.Action(p.CREATE, "demo-app", "not running")])
    record(stack, files, plan, "failed: ...", error=OperationError("demo-app: no"),
           done=[done])
    (entry,) = entries(stack, files)
    assert entry["result"] == "failed: demo-app: no" and "refused" not in entry
    assert entry["done"] == ["create demo-db"]


def test_a_refused_deploy_reads_as_refused_not_as_recreated(stack: Stack) -> None:
    lines = log_lines([refused_deploy(stack)], width=100)
    text = "\n".join(lines)
    assert lines[0].split() == ["WHEN", "WHO", "KIND", "RESULT", "WHAT"]
    assert lines[1].split()[4:7] == ["refused", "refused", "by"]
    assert "demo-app (the old container) kept serving" in " ".join(text.split())
    assert "planned: recreated 1" in text and "nothing was changed" in text
    assert "built 0" not in text  # zero counts left out


def test_history_fits_100_columns_and_wraps_what_under_itself() -> None:
    long = "failed: demo-app: " + "a very long reason " * 12
    rows = [{"when": "2026-12-07T13:50:50+00:00", "who": "someone@a-rather-long-hostname",
             "kind": "deploy", "summary": "built 0, recreated 1, unchanged 3", "result": long},
            {"when": "2026-12-07T14:00:00+00:00", "who": "root@server", "kind": "rollback",
             "summary": "app to release 1 (2026-12-07T13:00:00+00:00)", "result": "ok"}]
    lines = log_lines(rows, width=100)
    assert all(len(line) <= 100 for line in lines), "\n".join(lines)
    what = lines[0].index("WHAT")
    assert lines[1][what:].startswith("demo-app: a very long")
    firsts = [line for line in lines[1:] if line[:what].strip()]
    continued = [line for line in lines[1:] if not line[:what].strip()]
    assert len(firsts) == 2 and len(continued) >= 6  # every continuation under WHAT
    assert firsts[1].split()[:5] == ["2026-12-07", "14:00", "root@server", "rollback", "ok"]
    assert "someone@a-rather-lo…" in lines[1]


def test_summaries_lose_their_zero_counts_but_keep_orphans() -> None:
    assert compact("built 0, created 2, recreated 0, unchanged 3; orphans: demo-old") == \
        "created 2, unchanged 3; orphans: demo-old"
    assert compact("app to release 1 (2026-12-07T13:00:00+00:00)") == \
        "app to release 1 (2026-12-07T13:00:00+00:00)"
