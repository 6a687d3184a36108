"""Fixtures for the unit tests: a small repository in tmp_path and a valid stack on it.

The plain helpers live in stackbuilders.py: a test module cannot import `conftest`
reliably once another test folder has its own conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from stackbuilders import EXAMPLE_ROOT, EXAMPLE_SETTINGS, make_repo, make_stack

from pojemnik import Stack
from pojemnik.declaration.loader import load_stack


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


@pytest.fixture
def stack(repo: Path) -> Stack:
    return make_stack(repo)


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Stack:
    """The repository's own example stack, loaded with the unit-test settings."""
    for name, value in EXAMPLE_SETTINGS.items():
        monkeypatch.setenv(name, value)
    stack, problems = load_stack(EXAMPLE_ROOT)
    assert problems == []
    return stack
