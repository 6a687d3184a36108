"""The backup declaration's checks and the pure parts of backups: commands, manifests,
retention, and the drill's comparison. No Docker (tests/integration/test_backup.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pojemnik import Backup, Bind, Dump, Postgres, Retention, Secret, Stack
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.operations.backup.restore import users_of
from pojemnik.planning import backup as b
from pojemnik.planning import plan as p
from pojemnik.planning.plan import make_plan
from pojemnik.planning.state import Observed


def backed(stack: Stack, **changes: object) -> Stack:
    declared = Backup(dumps=[Postgres("db", database="app")], volumes=["dbdata"])
    return replace(stack, secrets=[*stack.secrets, Secret("backup_password")],
                   backup=replace(declared, **changes))


def problems(stack: Stack) -> list[str]:
    return [f"{x.where}: {x.message} / {x.fix}" for x in check_declaration(stack)]


def test_a_valid_backup_has_no_problems(stack: Stack) -> None:
    assert problems(backed(stack)) == []
    for repository in ("sftp:backup@old.example.com:/srv/backups",
                       "sftp://backup@old.example.com:2222//srv/backups", "/srv/backups"):
        assert problems(backed(stack, repository=repository)) == [], repository


@pytest.mark.parametrize(("changes", "expected"), [
    ({"dumps": [Postgres("dbb", database="app")]}, "backup.dumps[0].service: no service 'dbb'"
     " in the stack / did you mean 'db'?"),
    ({"volumes": ["dbdat"]}, "backup.volumes[0]: the stack has no volume 'dbdat'"),
    ({"binds": ["www/site"]}, "backup.binds[0]: 'www/site' is not a writable bind"),
    ({"retention": Retention(0, 0, 0)}, "backup.retention: retention keeps nothing"),
    ({"retention": Retention(-1, 4, 6)}, "backup.retention.daily: -1 is negative"),
    ({"password": "restic_key"}, "backup.password: no secret 'restic_key' in the stack"),
    ({"repository": "backups"}, "backup.repository: 'backups' is not an absolute path"),
    ({"repository": "sftp:host:/x"}, "backup.repository: 'sftp:host:/x' is not an sftp"),
    ({"dumps": [], "volumes": []}, "backup: nothing to back up"),
    ({"dumps": [Dump("mine", "db", [])]}, "backup.dumps[0].command: no command"),
    ({"volumes": ["dbdata", "dbdata"]}, "backup: 'dbdata' is backed up twice"),
    ({"schedule": ""}, "backup.schedule: '' is not a systemd calendar event"),
])
def test_each_bad_backup_field_is_named_with_its_fix(stack: Stack, changes: dict[str, object],
                                                     expected: str) -> None:
    found = problems(backed(stack, **changes))
    assert any(f"stack.py: {expected}" in line for line in found), found


def test_a_repository_inside_a_backed_up_bind_is_refused(stack: Stack) -> None:
    (stack.root / "www" / "uploads").mkdir(parents=True)
    uploads = [Bind("www/uploads", "/srv/uploads", read_only=False)]
    stack = replace(stack, services=[replace(s, mounts=[*s.mounts, *uploads])
                                     if s.name == "php" else s for s in stack.services])
    inside = stack.host_path("www/uploads") + "/repo"
    found = problems(backed(stack, binds=["www/uploads"], repository=inside))
    assert any("lies inside the backed-up bind 'www/uploads'" in line for line in found), found
    assert problems(backed(stack, binds=["www/uploads"])) == []


def test_a_swarm_target_still_deploys(stack: Stack) -> None:
    """The backup tasks refuse a Swarm target; the declaration itself is no problem."""
    assert not any("backup" in line for line in problems(replace(backed(stack),
                                                                 target="swarm")))


def test_the_deploy_makes_the_repository_password(stack: Stack) -> None:
    made = make_plan(backed(stack), Observed()).of_kind(p.CREATE_SECRET)
    assert "backup_password" in [a.target for a in made]


def test_the_dumps_and_restores_are_pg_dump_and_one_transaction_of_pg_restore(
        stack: Stack) -> None:
    declared = backed(stack).backup
    assert declared is not None
    db = b.parts(stack, declared)[0]
    assert b.dump_command(declared, db)[:2] == ["pg_dump", "-Fc"]
    restore = b.restore_command(declared, db)
    assert restore[0] == "pg_restore" and "--single-transaction" in restore
    assert "--no-owner" not in restore  # the app's role keeps owning its tables


def test_parts_are_tagged_by_run_and_the_manifest_marks_it_complete() -> None:
    part = b.backup_stdin("R1", "db.dump", "db", "demo")
    assert part[-6:] == ["--tag", "pojemnik", "--tag", "run=R1", "--tag", "part=db"]
    manifest = b.backup_stdin("R1", "manifest.json", None, "demo")
    assert manifest[-2:] == ["--tag", b.MANIFEST_TAG]


def test_retention_applies_to_complete_runs_as_one_group() -> None:
    args = b.forget_manifests(Retention(daily=7, weekly=0, monthly=6))
    assert args[args.index("--tag") + 1] == b.MANIFEST_TAG
    assert args[args.index("--group-by") + 1] == ""
    assert "--keep-weekly" not in args and args[-4:] == ["--keep-daily", "7",
                                                         "--keep-monthly", "6"]


def test_the_snapshot_id_is_read_from_the_summary_only() -> None:
    assert b.snapshot_id('{"message_type":"status"}\n'
                         '{"message_type":"summary","snapshot_id":"abc"}\n') == "abc"
    assert b.snapshot_id("Fatal: no\n") == ""


def test_counts_and_digests_are_parsed() -> None:
    assert b.parse_counts("public.a\t3\npublic.\"b c\"\t0\n") == {"public.a": 3,
                                                                  'public."b c"': 0}
    assert b.parse_digests("ab  ./x/y\ncd  ./z  z\n") == {"x/y": "ab", "z  z": "cd"}


def test_a_manifest_round_trips_and_the_newest_or_the_named_is_picked() -> None:
    old = b.Manifest("20260101T000000Z-aaaa", "2026-01-01T00:00:00+00:00", {"db": {"bytes": 5}})
    new = b.Manifest.decode(b.Manifest("20260102T000000Z-bbbb", "2026-01-02T00:00:00+00:00",
                                       {"db": {"bytes": 7}}).encode(), "1234abcd")
    assert new.snapshot == "1234abcd" and new.size() == 7
    assert b.pick([old, new], "") == new
    assert b.pick([old, new], "20260101") == old and b.pick([old, new], "1234") == new
    assert b.pick([old, new], "ffff") is None and b.pick([], "") is None


def test_the_drill_compares_with_numbers() -> None:
    result = b.DrillResult()
    b.compare_tables("db", {"public.a": 3, "public.b": 1}, {"public.a": 2}, result)
    b.compare_files("files", {"x": "1", "y": "2"}, {"x": "1", "y": "3", "z": "4"}, result)
    assert not result.passed
    assert result.problems == [
        "db: table public.a: 3 rows at backup time, 2 restored",
        "db: table public.b: 1 rows at backup time, none restored",
        "files: 1 files not in the backup, e.g. z", "files: 1 files differ, e.g. y"]
    assert result.checked == {"db": "1 tables, 2 rows", "files": "1/2 files identical"}
    good = b.DrillResult()
    b.compare_tables("db", {"public.a": 3}, {"public.a": 3}, good)
    assert good.passed


def test_a_restore_stops_the_dependents_or_the_mounting_services(stack: Stack) -> None:
    declared = backed(stack).backup
    assert declared is not None
    db, volume = b.parts(stack, declared)
    assert users_of(stack, db) == {"php", "app"}
    assert users_of(stack, volume) == {"db"}


def test_status_says_the_last_backup_and_drill_and_when_the_last_good_one_was(
        stack: Stack) -> None:
    from datetime import UTC, datetime, timedelta

    from pojemnik.hostfiles.files import LocalFiles
    from pojemnik.operations.backup.listing import last_results
    from pojemnik.operations.records.history import record_lines

    files = LocalFiles()
    now = datetime.now(UTC)
    assert last_results(stack, files, now) == [
        "backup: never (`invoke backup.run`)", "drill: never (`invoke backup.drill`)"]
    record_lines(stack, files, "backup R1", ["db"], "ok", kind="backup")
    record_lines(stack, files, "backup", [], "failed: the disk is full", kind="backup")
    record_lines(stack, files, "drill R1", ["db"], "passed", kind="drill")
    lines = last_results(stack, files, now + timedelta(hours=3))
    assert lines == ["backup: failed: the disk is full 3 h ago (backup)",
                     "backup: last ok 3 h ago", "drill: passed 3 h ago (drill R1)"]
