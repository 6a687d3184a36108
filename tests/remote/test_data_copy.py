"""`fab -H root@server data.copy --source root@old-server ...`: files and a database from
the old server into the new stack, relayed through this machine, verified."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator

import pytest

from .conftest import Deployment
from .hosts import RemoteHost
from .sample import DATABASE, NOTES_DIGEST_SQL, SAMPLE_ROOT, TABLE_ROWS

pytestmark = pytest.mark.remote

TARGET = "/srv/copied"


def source_of(old: RemoteHost) -> str:
    return f"{old.user}@{old.host}:{old.port}"


def manifest(host: RemoteHost, path: str) -> str:
    """The test hosts' own independent manifest tool (owners, modes, links, xattrs, ACLs)."""
    return host.run(f"pjremote-manifest {path}").text


@pytest.fixture(scope="module")
def deployed(deployment: Deployment) -> Deployment:
    return deployment  # the session fixture has deployed the stack on server


def test_dry_run_shows_and_changes_nothing(deployed: Deployment, server: RemoteHost,
                                           old_server: RemoteHost) -> None:
    root = server.as_user("root")
    result = deployed.fab(root, "data.copy", "--source", source_of(old_server),
                          "--path", SAMPLE_ROOT, "--to", TARGET, "--dry")
    assert "send big/random.bin" in result.stdout
    assert "send links/same.txt" in result.stdout
    assert root.run(f"test -e {TARGET}", check=False).returncode != 0


def test_files_are_copied_faithfully_and_verified(deployed: Deployment, server: RemoteHost,
                                                  old_server: RemoteHost) -> None:
    root = server.as_user("root")
    result = deployed.fab(root, "data.copy", "--source", source_of(old_server),
                          "--path", SAMPLE_ROOT, "--to", TARGET)
    assert "0 unchanged" in result.stdout
    assert "verified:" in result.stdout
    assert manifest(root, TARGET) == manifest(old_server, SAMPLE_ROOT)


def test_a_second_copy_sends_nothing(deployed: Deployment, server: RemoteHost,
                                     old_server: RemoteHost) -> None:
    root = server.as_user("root")
    result = deployed.fab(root, "data.copy", "--source", source_of(old_server),
                          "--path", SAMPLE_ROOT, "--to", TARGET)
    assert "files: 0 copied (0 bytes)" in result.stdout


def test_only_what_changed_is_sent_and_nothing_is_deleted_unless_asked(
        deployed: Deployment, server: RemoteHost, old_server: RemoteHost) -> None:
    root = server.as_user("root")
    old_server.run(f"echo changed >> {SAMPLE_ROOT}/shared/report.csv")
    root.run(f"echo mine > {TARGET}/only-here.txt")
    result = deployed.fab(root, "data.copy", "--source", source_of(old_server),
                          "--path", SAMPLE_ROOT, "--to", TARGET)
    assert "files: 1 copied" in result.stdout and "0 deleted" in result.stdout
    assert root.run(f"cat {TARGET}/only-here.txt").text == "mine\n"
    dry = deployed.fab(root, "data.copy", "--source", source_of(old_server),
                       "--path", SAMPLE_ROOT, "--to", TARGET, "--delete", "--dry")
    assert "delete only-here.txt" in dry.stdout
    deployed.fab(root, "data.copy", "--source", source_of(old_server),
                 "--path", SAMPLE_ROOT, "--to", TARGET, "--delete")
    assert root.run(f"test -e {TARGET}/only-here.txt", check=False).returncode != 0
    assert manifest(root, TARGET) == manifest(old_server, SAMPLE_ROOT)


def psql_new(server: RemoteHost, project: str, sql: str) -> str:
    return server.run(f"docker exec {project}-db psql -X -At -d {DATABASE} -c \"{sql}\"").text


def test_database_is_moved_by_dump_and_restore(deployed: Deployment, server: RemoteHost,
                                               old_server: RemoteHost) -> None:
    root = server.as_user("root")
    result = deployed.fab(root, "data.copy", "--source", source_of(old_server),
                          "--database", DATABASE)
    assert f"database {DATABASE}: restored" in result.stdout
    for table, rows in TABLE_ROWS.items():
        assert f"public.{table} {rows}" in result.stdout
        assert psql_new(server, deployed.project, f"SELECT count(*) FROM {table}") == \
            f"{rows}\n"
    old_digest = old_server.run(
        f"cd / && runuser -u postgres -- psql -X -At -d {DATABASE} -c \"{NOTES_DIGEST_SQL}\""
    ).text
    assert psql_new(server, deployed.project, NOTES_DIGEST_SQL) == old_digest
    owner = psql_new(server, deployed.project,
                     "SELECT tableowner FROM pg_tables WHERE tablename = 'notes'")
    assert owner == "app\n"  # the apps' role owns what was restored

    again = deployed.fab(root, "data.copy", "--source", source_of(old_server),
                         "--database", DATABASE)
    assert "already the same" in again.stdout and "unchanged" in again.stdout


@pytest.fixture()
def agent(old_server: RemoteHost) -> Iterator[dict[str, str]]:
    """An ssh-agent holding the test key; data.copy --direct forwards it."""
    started = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True)
    env = dict(re.findall(r"(SSH_AUTH_SOCK|SSH_AGENT_PID)=([^;]+);", started.stdout))
    try:
        subprocess.run(["ssh-add", str(old_server.key_path)], env={**os.environ, **env},
                       check=True, capture_output=True)
        yield env
    finally:
        subprocess.run(["ssh-agent", "-k"], env={**os.environ, **env}, capture_output=True)


def test_direct_copy_between_the_hosts_with_rsync(deployed: Deployment, server: RemoteHost,
                                                  old_server: RemoteHost,
                                                  agent: dict[str, str]) -> None:
    root = server.as_user("root")
    target = "/srv/copied-direct"
    args = ("data.copy", "--source", source_of(old_server), "--path", SAMPLE_ROOT,
            "--to", target, "--direct", old_server.name)
    dry = deployed.fab(root, *args, "--dry", extra_env=agent)
    assert "links/same.txt" in dry.stdout
    assert root.run(f"test -e {target}", check=False).returncode != 0
    first = deployed.fab(root, *args, extra_env=agent)
    assert "pulls" in first.stdout and "verified:" in first.stdout
    assert manifest(root, target) == manifest(old_server, SAMPLE_ROOT)
    again = deployed.fab(root, *args, extra_env=agent)
    assert "files: 0 copied (0 bytes)" in again.stdout
