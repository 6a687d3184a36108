"""A remote host's copy of the mounted files is part of the plan: what differs is sent,
what the checkout dropped is removed, and data directories (writable binds, also inside a
mirrored directory) are never touched. Pure planning, rendering and validation, plus the
converge step that puts the last good files back when a reload fails."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from stackbuilders import converged, one, with_service, write

from pojemnik import Bind, Reload, Stack
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.hostfiles.local_state import LocalState
from pojemnik.operations.host._reload import ReloadFailed
from pojemnik.operations.host.converge import HostSite, apply
from pojemnik.operations.swarm._workspace import config_files
from pojemnik.planning import plan as p
from pojemnik.planning.plan import make_plan
from pojemnik.planning.render import as_json, bash, summary, table
from pojemnik.planning.state import FilesDiff
from pojemnik.ssh.mirror import below, local_files

ROOT = "/srv/pojemnik/demo"


def with_uploads(stack: Stack) -> Stack:
    """php mounts www/site read-only and www/site/media writable (uploads)."""
    write(stack.root / "www" / "site" / "media" / "seed.txt", "from the checkout\n")
    return with_service(stack, "php", mounts=[
        Bind("www/site", "/srv/site"), Bind("www/site/media", "/srv/site/media",
                                            read_only=False)])


def test_nothing_differs_nothing_to_do(stack: Stack) -> None:
    observed = replace(converged(stack), files=FilesDiff(ROOT))
    plan = make_plan(stack, observed)
    assert not plan
    assert "nothing to do" in table(plan) and "files" not in summary(plan)


def test_changed_files_alone_make_a_plan(stack: Stack) -> None:
    diff = FilesDiff(ROOT, send=("www/site/new.html", "www/site/index.html"),
                     remove=("www/site/old.html",))
    plan = make_plan(stack, replace(converged(stack), files=diff))
    assert [(a.kind, a.target) for a in plan.actions] == [(p.SHIP_FILES, ROOT)]
    assert plan.actions[0].reason == ("files differ from the checkout: 2 to send, "
                                      "1 to remove (gone from the checkout)")
    assert ("recreated 0, started 0, reloaded 0, files sent 2, files removed 1"
            in summary(plan))
    shown = table(plan)
    assert "send    www/site/new.html" in shown and "remove  www/site/old.html" in shown
    data = json.loads(as_json(plan))["actions"][0]["files"]
    assert data == {"root": ROOT, "send": list(diff.send), "remove": ["www/site/old.html"],
                    "make": []}
    assert "#  send    www/site/new.html" in bash(plan)


def test_a_first_deploy_lists_a_bounded_number_of_files(stack: Stack) -> None:
    names = tuple(f"www/site/{i}.html" for i in range(100))
    plan = make_plan(stack, replace(converged(stack), files=FilesDiff(ROOT, send=names)))
    shown = table(plan).splitlines()
    assert sum(1 for line in shown if line.startswith("  send")) == 41
    assert "... and 60 more" in shown[-1]
    assert len(json.loads(as_json(plan))["actions"][0]["files"]["send"]) == 100


def test_a_missing_data_directory_is_planned(stack: Stack) -> None:
    plan = make_plan(stack, replace(converged(stack), files=FilesDiff(ROOT, seed=("data",))))
    assert plan.actions[0].reason.endswith("1 data directories to make")


def test_the_mirror_never_enters_a_writable_bind_inside_a_read_only_one(stack: Stack) -> None:
    stack = with_uploads(stack)
    assert check_declaration(stack) == []
    assert stack.data_paths() == ["www/site/media"]
    assert "www/site" in stack.config_paths()
    listed = local_files(stack.root, stack.config_paths(), stack.data_paths())
    assert "www/site/index.html" in listed
    assert not [name for name in listed if name.startswith("www/site/media")]
    # On a Swarm the read-only files become configs: none for the uploads either.
    assert not [name for name in config_files(stack) if "media" in name]


def test_paths_are_compared_as_the_mirror_lists_them(stack: Stack) -> None:
    stack = with_service(stack, "php", mounts=[
        Bind("./www/site/", "/srv/site"), Bind("www/site/media/", "/m", read_only=False)])
    assert stack.data_paths() == ["www/site/media"] and "www/site" in stack.config_paths()
    assert below("www/site/media/a.jpg", ["www/site/media"])
    assert not below("www/site/media2/a.jpg", ["www/site/media"])


def test_a_read_only_bind_inside_a_writable_one_is_refused(stack: Stack) -> None:
    write(stack.root / "www" / "site" / "static" / "app.css")
    stack = with_service(stack, "php", mounts=[
        Bind("www/site", "/srv/site", read_only=False), Bind("www/site/static", "/static")])
    problem = one(check_declaration(stack))
    assert "services.php.mounts[1]" in problem.where
    assert "www/site/static is mounted read-only inside www/site" in problem.message
    assert "move www/site/static out of www/site" in problem.fix


class ReloadingEngine:
    """The reload's commands answer by name; records what ran."""

    def __init__(self, failing: set[str]) -> None:
        self.failing, self.ran = failing, []

    def exec(self, name: str, command: list[str]) -> tuple[int, str]:
        self.ran.append(command[0])
        return (1 if command[0] in self.failing else 0), f"{command[0]} output"

    def processes(self, name: str) -> set[str]:
        return {"1"}


class RecordingShipment:
    def __init__(self) -> None:
        self.restored = 0

    def diff(self) -> FilesDiff:
        return FilesDiff(ROOT)

    def ship(self) -> None:
        pass

    def restore(self) -> bool:
        self.restored += 1
        return True


@pytest.mark.parametrize("failing", [{"reload"}, {"probe"}])
def test_a_reload_that_fails_after_its_check_puts_the_last_good_files_back(
        stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        failing: set[str]) -> None:
    monkeypatch.setattr("pojemnik.operations.host._reload.LIVE_TIMEOUT", 0.05)
    stack = with_service(stack, "proxy",
                         reload=Reload(["reload"], check=["check"], live=["probe"]))
    observed = replace(converged(stack), config_hashes={"proxy": "new"},
                       files=FilesDiff(ROOT, send=("config/proxy/nginx.conf",)))
    plan = make_plan(stack, observed)
    assert [a.kind for a in plan.actions] == [p.SHIP_FILES, p.RELOAD]
    engine: Any = ReloadingEngine(failing)
    shipment = RecordingShipment()
    said: list[str] = []
    with pytest.raises(ReloadFailed):
        apply(replace(plan, proxies=[]), engine, said.append,
              LocalState(tmp_path / "state.json"), HostSite(shipment=shipment))
    assert shipment.restored == 1
    assert "files: the last good config is back on the host" in said
    # The restored files are loaded again: the check and the reload ran a second time.
    assert engine.ran.count("check") == 2 and engine.ran.count("reload") == 2



def test_building_images_alone_sends_no_files(stack: Stack) -> None:
    diff = FilesDiff(ROOT, send=("www/site/new.html",))
    plan = make_plan(stack, replace(converged(stack), files=diff),
                     p.Options(only_services=frozenset()))
    assert not plan.of_kind(p.SHIP_FILES)
