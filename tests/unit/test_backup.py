"""The backup declaration's checks and the pure parts of backups: commands, manifests,
retention, and the drill's comparison. No Docker (tests/integration/test_backup.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pojemnik import Backup, Bind, Dump, Postgres, Retention, Secret, Stack
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.operations.backup.image import pojemnik_backup as program
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
        keys = "old.example.com,[old.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"
        assert problems(backed(stack, repository=repository, known_hosts=keys)) == [], \
            repository


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
    ({"schedule": ""}, "backup.schedule: an empty schedule"),
    ({"schedule": "*-*-* 03:00:00"}, "backup.schedule: '*-*-* 03:00:00' is not a schedule"),
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


def test_a_backup_on_a_swarm_is_refused_saying_what_to_do(stack: Stack) -> None:
    found = problems(replace(backed(stack), target="swarm"))
    backup = [line for line in found if line.startswith("stack.py: backup:")]
    assert len(backup) == 1, found
    assert "backups are not supported on the 'swarm' target" in backup[0]
    assert "whichever node runs it" in backup[0]
    assert "declare backup= only when target is \"host\"" in backup[0]
    assert problems(replace(stack, target="swarm")) == [
        line for line in found if not line.startswith("stack.py: backup:")]


def test_an_sftp_repository_needs_the_hosts_key_and_a_key_file_not_a_secret(
        stack: Stack) -> None:
    sftp = "sftp://backup@old.example.com:2222//srv/backups"
    good = "[old.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB"
    assert problems(backed(stack, repository=sftp, known_hosts=good)) == []
    missing = problems(backed(stack, repository=sftp))
    assert missing == ["stack.py: backup.known_hosts: no key of the repository host "
                       "[old.example.com]:2222: restic's ssh checks it and would refuse (or "
                       "trust whatever answers) / set it to the host's key line, e.g. "
                       "BACKUP_KNOWN_HOSTS=\"[old.example.com]:2222 ssh-ed25519 AAAA...\" (from "
                       "/etc/ssh/ssh_host_ed25519_key.pub there, read over a path you trust)"]
    other = problems(backed(stack, repository=sftp, known_hosts="old.example.com ssh-ed25519 A"))
    assert other == ["stack.py: backup.known_hosts: no line for [old.example.com]:2222, the "
                     "repository's host / begin the host's key line with "
                     "[old.example.com]:2222 (as ssh writes it to known_hosts)"]
    assert "line 1 is not a known_hosts line" in problems(
        backed(stack, repository=sftp, known_hosts="old.example.com"))[0]
    as_secret = replace(backed(stack, repository=sftp, known_hosts=good, ssh_key="ssh_key"),
                        secrets=[*stack.secrets, Secret("backup_password"), Secret("ssh_key")])
    assert "stack.py: backup.ssh_key: 'ssh_key' is a Secret of the stack" in problems(as_secret)[0]


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
    assert program.tags("R1", "db") == ["--tag", "pojemnik", "--tag", "run=R1", "--tag",
                                        "part=db"]
    assert program.tags("R1", None)[-2:] == ["--tag", b.MANIFEST_TAG]
    assert (program.TAG, program.MANIFEST_TAG, program.MANIFEST_FILE) == (
        b.TAG, b.MANIFEST_TAG, b.MANIFEST_FILE)


def test_retention_applies_to_complete_runs_as_one_group() -> None:
    args = program.forget_args("7", "0", "6")
    assert args[args.index("--tag") + 1] == b.MANIFEST_TAG
    assert args[args.index("--group-by") + 1] == ""
    assert "--keep-weekly" not in args and args[-4:] == ["--keep-daily", "7",
                                                         "--keep-monthly", "6"]


def test_a_run_is_the_same_argv_steps_for_backup_run_and_the_agent(stack: Stack) -> None:
    declared = backed(stack, volumes=["dbdata"], retention=Retention(3, 2, 1)).backup
    assert declared is not None
    steps = b.run_steps(stack, declared)
    assert [s.helper[:2] for s in steps] == [["pojemnik-backup", "begin"],
                                              ["pojemnik-backup", "counts"],
                                              ["pojemnik-backup", "dump"],
                                              ["pojemnik-backup", "files"],
                                              ["pojemnik-backup", "seal"]]
    counts, dump = steps[1], steps[2]
    assert counts.source is not None and counts.source[1][0] == "psql"
    assert dump.source == ("db", ["pg_dump", "-Fc", "-h", "/run/postgresql", "-U",
                                  "postgres", "-d", "app"])
    assert steps[3].helper[2:5] == ["dbdata", "volume", "/data/dbdata"]
    assert steps[-1].helper[2:] == [stack.project, "db,dbdata", "3", "2", "1"]
    assert all(len(s.helper) - 2 == program.STEPS[s.helper[1]][1] for s in steps)


def test_the_program_refuses_a_step_it_does_not_know(capsys: pytest.CaptureFixture[str]) -> None:
    assert program.main(["dump", "db"]) == 2
    assert program.main(["format-disk"]) == 2
    assert "usage: pojemnik-backup begin | counts" in capsys.readouterr().err


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


def test_status_sees_a_scheduled_run_by_the_agents_record(stack: Stack) -> None:
    from datetime import UTC, datetime, timedelta

    from pojemnik.hostfiles.files import LocalFiles
    from pojemnik.operations.backup.listing import last_results
    from pojemnik.operations.records.history import record_lines

    files = LocalFiles()
    record_lines(stack, files, "backup R1", ["db"], "ok", kind="backup")
    now = datetime.now(UTC) + timedelta(hours=2)
    later = (now - timedelta(minutes=30)).isoformat(timespec="seconds")
    failed = {"name": "backup", "finished": later, "ok": False, "exit": 1,
              "output": "begin\nbackup R2: the dump db (db): pg_dump -Fc failed after 9 bytes"}
    lines = last_results(stack, files, now, failed)
    assert lines[0] == ("backup: failed: backup R2: the dump db (db): pg_dump -Fc failed "
                        "after 9 bytes 30 min ago (scheduled)")
    assert lines[1] == "backup: last ok 2 h ago"
    good = {**failed, "ok": True, "exit": 0}
    assert last_results(stack, files, now, good)[0] == "backup: ok 30 min ago (scheduled)"
