"""Backups (issue 19) on a deployed copy of the example, with Debian's restic in the
helper container and the real PostgreSQL: back up, delete, restore, drill; a dump that
fails half-way leaves no snapshot, by backup.run and by the server's agent; the agent's
scheduled run is a complete run the drill proves; retention keeps the newest complete run;
a full disk is said as such; a corrupted pack fails the drill. The repository is a folder
of this test's, removed after."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from pojemnik import Secret
from pojemnik.console import say
from pojemnik.declaration.backup import Dump, Retention
from pojemnik.declaration.loader import load_stack
from pojemnik.declaration.model import Stack
from pojemnik.engine.local import connect_local
from pojemnik.errors import OperationError
from pojemnik.operations.backup._helper import helper
from pojemnik.operations.backup.run import manifests, run_backup
from pojemnik.operations.backup.schedule import agent_tasks

from .conftest import Copy, copy_example, make_copy, remove_projects

pytestmark = pytest.mark.integration

TLS = "/var/lib/proxy-tls"


@pytest.fixture(scope="module")
def backed(client: docker.DockerClient, stale_cleaned: None,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    root = copy_example(tmp_path_factory.mktemp("backup"))
    copy = make_copy(client, root)
    repository = tmp_path_factory.mktemp("backup-repository") / "repo"
    copy.env["BACKUP_REPOSITORY"] = str(repository)
    copy.invoke("deploy")
    yield copy
    remove_projects(client, copy.project)
    shutil.rmtree(repository, ignore_errors=True)


def sql(client: docker.DockerClient, copy: Copy, statement: str) -> str:
    code, output = client.containers.get(f"{copy.project}-db").exec_run(
        ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "/run/postgresql", "-U",
         "postgres", "-d", "app", "-c", statement])
    assert code == 0, output
    return str(output.decode().strip())


def in_proxy(client: docker.DockerClient, copy: Copy, script: str) -> bytes:
    code, output = client.containers.get(f"{copy.project}-proxy").exec_run(
        ["sh", "-c", script])
    assert code == 0, output
    return bytes(output)


def listed(copy: Copy) -> list[dict[str, object]]:
    return list(json.loads(copy.invoke("backup.list", "--json").stdout))


def loaded(copy: Copy, monkeypatch: pytest.MonkeyPatch) -> Stack:
    for key in ("POJEMNIK_PROJECT", "HTTP_PORT", "HTTPS_PORT", "PUBLISH_ADDRESS",
                "ISOLATED_SUBNET", "SERVICES_SUBNET", "BACKUP_REPOSITORY"):
        monkeypatch.setenv(key, copy.env[key])
    stack, problems = load_stack(copy.root)
    assert not problems
    return stack


def test_restore_puts_rows_and_files_back_and_the_drill_passes(
        client: docker.DockerClient, backed: Copy) -> None:
    sql(client, backed, "CREATE TABLE backup_probe (id serial PRIMARY KEY, body text); "
        "ALTER TABLE backup_probe OWNER TO app; "
        "INSERT INTO backup_probe (body) VALUES ('kept'), ('me')")
    in_proxy(client, backed, f"head -c 200000 /dev/urandom > {TLS}/probe.bin; "
             f"mkdir -p {TLS}/sub; echo hello > {TLS}/sub/a.txt")
    before = in_proxy(client, backed, f"sha256sum {TLS}/probe.bin {TLS}/sub/a.txt")

    made = backed.invoke("backup.run")
    assert "complete" in made.stderr + made.stdout
    runs = listed(backed)
    assert len(runs) == 1 and sorted(runs[0]["parts"]) == ["db", "proxy-tls"]  # type: ignore

    sql(client, backed, "DELETE FROM backup_probe WHERE body = 'kept'")
    in_proxy(client, backed, f"echo changed > {TLS}/probe.bin; rm {TLS}/sub/a.txt; "
             f"echo new > {TLS}/later.txt")
    assert sql(client, backed, "SELECT count(*) FROM backup_probe") == "1"

    backed.invoke("backup.restore", "--yes")
    assert sql(client, backed, "SELECT body FROM backup_probe ORDER BY id") == "kept\nme"
    assert in_proxy(client, backed, f"sha256sum {TLS}/probe.bin {TLS}/sub/a.txt") == before
    assert in_proxy(client, backed, f"test ! -e {TLS}/later.txt && echo gone") == b"gone\n"
    assert client.containers.get(f"{backed.project}-app").status == "running"
    log = backed.invoke("history", "--json").stdout
    assert any(e["kind"] == "restore" and e["result"] == "ok" for e in json.loads(log)["log"])

    drilled = backed.invoke("backup.drill", "--json")
    result = json.loads(drilled.stdout)
    assert result["passed"], result
    assert "tables" in result["checked"]["db"] and "rows" in result["checked"]["db"]
    assert result["checked"]["proxy-tls"].endswith("files identical")
    shown = backed.invoke("status")
    assert "backup: ok" in shown.stdout + shown.stderr
    assert "drill: passed" in shown.stdout + shown.stderr


def test_a_dump_failing_half_way_leaves_no_snapshot(
        backed: Copy, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = loaded(backed, monkeypatch)
    assert stack.backup is not None
    broken = Dump("broken", "db", ["sh", "-c", "head -c 300000 /dev/zero; exit 3"])
    stack = dataclasses.replace(stack, backup=dataclasses.replace(
        stack.backup, dumps=[*stack.backup.dumps, broken]))
    before = listed(backed)
    engine = connect_local(None)
    try:
        with pytest.raises(OperationError, match=r"exit code 3.*no snapshot was saved"):
            run_backup(engine, stack, say)
    finally:
        engine.close()
    assert listed(backed) == before  # no complete run more
    parts = subprocess_snapshots(backed, "part=broken")
    assert parts == [], parts


def subprocess_snapshots(copy: Copy, tag: str) -> list[object]:
    """The repository's snapshots with `tag`, asked by restic in a helper of its own."""
    from pojemnik.operations.backup._helper import helper
    from pojemnik.operations.backup.run import snapshots

    stack, _ = load_stack(copy.root)
    assert stack.backup is not None
    engine = connect_local(None)
    try:
        with helper(engine, stack, stack.backup, say, []) as h:
            return list(snapshots(h, tag))
    finally:
        engine.close()


def test_retention_keeps_the_declared_count_and_the_newest(
        backed: Copy, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = loaded(backed, monkeypatch)
    assert stack.backup is not None
    stack = dataclasses.replace(stack, backup=dataclasses.replace(
        stack.backup, retention=Retention(daily=1, weekly=0, monthly=0)))
    engine = connect_local(None)
    try:
        newest = [run_backup(engine, stack, say) for _ in range(2)][-1]
    finally:
        engine.close()
    runs = listed(backed)
    assert [r["run"] for r in runs] == [newest.run]
    # No part of a forgotten or failed run is left.
    assert {s["tags"][1] for s in subprocess_snapshots(backed, "pojemnik")  # type: ignore
            } == {f"run={newest.run}"}


def test_the_backup_key_is_made_on_the_engines_host_once_and_only_its_public_half_shown(
        backed: Copy) -> None:
    made = backed.invoke("backup.key")
    line = made.stdout.strip().splitlines()[-1]
    assert line.startswith('restrict,command="/usr/lib/openssh/sftp-server" ssh-ed25519 ')
    assert "new key" in made.stdout + made.stderr
    key = backed.root / ".secrets" / backed.project / "backup_ssh_key"
    assert key.stat().st_mode & 0o077 == 0
    assert "PRIVATE KEY" in key.read_text()
    assert "PRIVATE KEY" not in made.stdout + made.stderr
    again = backed.invoke("backup.key")
    assert again.stdout.strip().splitlines()[-1] == line  # kept, not replaced
    assert "new key" not in again.stdout + again.stderr


def test_an_unreachable_repository_host_fails_clearly_and_deletes_nothing(
        backed: Copy, monkeypatch: pytest.MonkeyPatch) -> None:
    before = listed(backed)
    backed.invoke("backup.key")
    stack = loaded(backed, monkeypatch)
    assert stack.backup is not None
    # Nothing listens on port 1 of the helper's own address.
    stack = dataclasses.replace(stack, backup=dataclasses.replace(
        stack.backup, repository="sftp://nobody@127.0.0.1:1//srv/backups",
        known_hosts="[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBqdGVzdA"))
    engine = connect_local(None)
    try:
        with pytest.raises(OperationError, match="cannot be reached over SSH; nothing was "
                                                 "deleted, the next run tries again"):
            run_backup(engine, stack, say)
    finally:
        engine.close()
    assert listed(backed) == before


def test_a_wrong_password_is_said_as_such(backed: Copy, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = loaded(backed, monkeypatch)
    assert stack.backup is not None
    (backed.root / stack.secrets_dir() / "wrong_password").write_text("not the key\n")
    stack = dataclasses.replace(stack, secrets=[*stack.secrets, Secret("wrong_password")],
                                backup=dataclasses.replace(stack.backup,
                                                           password="wrong_password"))
    before = listed(backed)
    engine = connect_local(None)
    try:
        with pytest.raises(OperationError, match="wrong password: the repository was made "
                                                 "with another password than the secret "
                                                 "wrong_password's"):
            run_backup(engine, stack, say)
    finally:
        engine.close()
    assert listed(backed) == before


def agent_run(stack: Stack, folder: Path) -> tuple[int, dict[str, Any], str]:
    """The backup task as the server's agent runs it (python3 -m pojemnik.agent), from the
    config agent.install would write; its exit code, its record, and the config's text."""
    config = folder / "agent.json"
    config.write_text(json.dumps({"project": stack.project, "lock_image": stack.base_image,
                                  "tasks": agent_tasks(stack)}))
    done = subprocess.run([sys.executable, "-m", "pojemnik.agent", "--config", str(config),
                           "--state", str(folder / "state"), "run", "backup"],
                          capture_output=True, text=True, timeout=1200)
    record = json.loads((folder / "state" / "runs" / "backup.json").read_text())
    return done.returncode, record, config.read_text()


def test_the_agent_fails_a_dump_that_fails_half_way_and_no_snapshot_looks_good(
        backed: Copy, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stack = loaded(backed, monkeypatch)
    assert stack.backup is not None
    broken = Dump("broken", "db", ["sh", "-c", "head -c 300000 /dev/zero; exit 3"])
    stack = dataclasses.replace(stack, backup=dataclasses.replace(
        stack.backup, dumps=[*stack.backup.dumps, broken]))
    before = listed(backed)
    code, record, _ = agent_run(stack, tmp_path)
    assert code != 0 and record["ok"] is False and record["exit"] == code, record
    assert "\"kept\"" not in record["output"]  # stopped at the failed pipe, before seal
    assert listed(backed) == before  # no complete run more: nothing looks good


def test_the_agent_runs_the_scheduled_backup_as_backup_run_does(
        client: docker.DockerClient, backed: Copy, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    stack = loaded(backed, monkeypatch)
    before = listed(backed)
    code, record, config = agent_run(stack, tmp_path)
    assert code == 0 and record["ok"] is True, record
    after = listed(backed)
    assert after and after[0]["run"] not in [r["run"] for r in before]
    assert sorted(after[0]["parts"]) == ["db", "proxy-tls"]  # type: ignore[call-overload]
    # Its manifest is backup.run's: the drill proves it (row counts and digests).
    drilled = json.loads(backed.invoke("backup.drill", "--json").stdout)
    assert drilled["passed"] and drilled["run"] == after[0]["run"], drilled
    # Retention ran: the failed run's leftover part is gone with the forgotten runs.
    assert subprocess_snapshots(backed, "part=broken") == []
    password = (backed.root / stack.secrets_dir() / "backup_password").read_text().strip()
    assert password not in config and password not in record["output"]
    assert not client.containers.list(all=True, filters={
        "label": f"pojemnik.agent.task={stack.project}/backup"})  # the helper removed


def test_a_full_disk_is_said_as_such_and_the_run_is_not_complete(
        client: docker.DockerClient, backed: Copy, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """The repository on a 256 KiB tmpfs: restic's config fits, the dump does not."""
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "pjtest-full", full],
                   check=True)
    try:
        stack = loaded(backed, monkeypatch)
        assert stack.backup is not None
        stack = dataclasses.replace(stack, backup=dataclasses.replace(
            stack.backup, repository=str(full)))
        in_proxy(client, backed, f"head -c 400000 /dev/urandom > {TLS}/big.bin")
        engine = connect_local(None)
        try:
            with pytest.raises(OperationError, match="the disk is full on the engine's host "
                                                     r"\(or the repository's\): free space "
                                                     "and run again; nothing was deleted"):
                run_backup(engine, stack, say)
            with helper(engine, stack, stack.backup, say, []) as h:
                assert manifests(h) == []  # nothing looks like a good backup
        finally:
            engine.close()
    finally:
        subprocess.run(["umount", full], check=True)
        in_proxy(client, backed, f"rm -f {TLS}/big.bin")


def test_a_corrupted_pack_fails_the_drill(backed: Copy) -> None:
    packs = sorted(Path(backed.env["BACKUP_REPOSITORY"], "data").rglob("*"))
    pack = max((p for p in packs if p.is_file()), key=lambda p: p.stat().st_size)
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pack.write_bytes(bytes(data))
    drilled = backed.invoke("backup.drill", check=False)
    assert drilled.returncode == 1, drilled.stdout + drilled.stderr
    assert "FAILED" in drilled.stdout + drilled.stderr
    assert "FAIL " in drilled.stdout + drilled.stderr
