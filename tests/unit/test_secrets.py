"""Secret files: made once, never replaced, but an empty one (written on a full disk)
holds no secret and is made again, by a write aside and a rename; a length that makes a
guessable secret is refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from stackbuilders import one

from pojemnik import Secret, Stack
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.hostfiles.secrets import LocalSecrets
from pojemnik.planning.spec import SecretSpec


def test_an_empty_secret_file_is_made_again_and_said(tmp_path: Path) -> None:
    spec = SecretSpec("db_password", str(tmp_path / ".secrets" / "demo" / "db_password"), 32)
    store, said = LocalSecrets(), []
    Path(spec.path).parent.mkdir(parents=True)
    Path(spec.path).write_text("")
    assert store.present([spec]) == []  # what the plan sees: missing
    store.create(spec, said.append)
    value = Path(spec.path).read_text()
    assert len(value) >= 32 and "its file was empty" in said[0] and value not in said[0]
    assert oct(Path(spec.path).stat().st_mode & 0o777) == "0o644"
    assert store.present([spec]) == ["db_password"]
    store.create(spec, said.append)  # a value is never replaced
    assert Path(spec.path).read_text() == value and len(said) == 1
    assert sorted(p.name for p in Path(spec.path).parent.iterdir()) == ["db_password"]


def test_a_secret_too_short_to_be_secret_is_refused(stack: Stack) -> None:
    for length in (0, -1, 8):
        problem = one(check_declaration(replace(stack, secrets=[Secret("db_password",
                                                                         length)])))
        assert problem.where == "stack.py: secrets.db_password.length"
        assert "16 or more" in problem.fix
    assert check_declaration(replace(stack, secrets=[Secret("db_password", 16)])) == []
