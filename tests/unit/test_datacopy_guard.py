"""data.copy refuses a source that would make --delete empty the destination (pure), and
deletes nothing outside --to."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from pojemnik.errors import OperationError
from pojemnik.operations.data._guard import delete_extra, source_problem


def problem(exists: bool = True, is_directory: bool = True, source_empty: bool = False,
            destination_empty: bool = False, delete: bool = True) -> str:
    return source_problem("root@old:22:/srv/dta", exists, is_directory, source_empty,
                          "root@new:22:/srv/data", destination_empty, delete)


def test_a_missing_source_is_refused_with_or_without_delete() -> None:
    for delete in (True, False):
        assert "/srv/dta does not exist; check --path" in problem(exists=False,
                                                                  is_directory=False,
                                                                  delete=delete)


def test_a_source_that_is_not_a_directory_is_refused() -> None:
    assert "is not a directory" in problem(is_directory=False)


def test_an_empty_source_may_not_empty_the_destination() -> None:
    refused = problem(source_empty=True)
    assert "would delete everything there" in refused and "nothing was" in refused
    assert problem(source_empty=True, delete=False) == ""  # copies nothing, deletes nothing
    assert problem(source_empty=True, destination_empty=True) == ""


def test_a_real_source_may_be_copied() -> None:
    assert problem() == ""


class ThisMachine:
    """The one method of a host's connection that delete_extra uses, run by a real shell
    here (invoke's own local runner leaves pipes open, which the warnings filter fails)."""

    host = None

    def run(self, command: str, **_: object) -> SimpleNamespace:
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                              check=False)
        return SimpleNamespace(ok=done.returncode == 0, exited=done.returncode,
                               stdout=done.stdout, stderr=done.stderr)


def test_delete_refuses_every_entry_not_strictly_below_the_destination(tmp_path: Path) -> None:
    """Run for real on this machine (the same `cd ... && rm -rf --` as on a host): one path
    outside --to among the extra ones deletes nothing at all."""
    here: Any = cast(Any, ThisMachine())
    root, canary = tmp_path / "to", tmp_path / "nl-canary"
    (root / "extra").mkdir(parents=True)
    canary.mkdir()
    (canary / "keep.txt").write_text("kept\n")
    for outside in ("../nl-canary", str(canary), "extra/../../nl-canary", ""):
        with pytest.raises(OperationError, match="refusing to delete"):
            delete_extra(here, str(root), ["extra", outside])
        assert (canary / "keep.txt").read_text() == "kept\n"
        assert (root / "extra").is_dir()
    assert delete_extra(here, str(root), ["extra"]) == 1
    assert not (root / "extra").exists()
