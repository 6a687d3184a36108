"""data.copy refuses a source that would make --delete empty the destination (pure)."""

from __future__ import annotations

from pojemnik.operations.datacopy_guard import source_problem


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
