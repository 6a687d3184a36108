"""Backups into an sftp repository on another real host (issue 19): the example deployed on
`server` (`fab -H deploy@server`) backs up to old-server over a real SSH connection, with
the stack's own key (`backup.key`, made on server, restricted to sftp in old-server's
authorized_keys) and old-server's declared host key; then rows deleted come back by
`backup.restore`, the drill passes, and with old-server's sshd stopped `backup.run` fails
saying so and deletes nothing.

The repository's sshd is a second one on old-server (port 2222, the host's own config and
keys), started and stopped by this module, so "the repository host is down" does not take
old-server away from the other tests.
"""

from __future__ import annotations

import json
import secrets
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .conftest import REPO, Deployment
from .hosts import RemoteHost, push_image

pytestmark = pytest.mark.remote

PORT = 2222
PIDFILE = "/run/pjtest-backup-sshd.pid"


@dataclass(frozen=True)
class Repository:
    env: dict[str, str]
    path: str  # on old-server
    authorized: str  # the line added to deploy@old-server's authorized_keys


def psql(server: RemoteHost, project: str, statement: str) -> str:
    command = shlex.join(["docker", "exec", f"{project}-db", "psql", "-X", "-At", "-v",
                          "ON_ERROR_STOP=1", "-h", "/run/postgresql", "-U", "postgres", "-d",
                          "app", "-c", statement])
    return server.run(command).text.strip()


def start_sshd(old_server: RemoteHost) -> None:
    old_server.run(f"/usr/sbin/sshd -p {PORT} -o PidFile={PIDFILE}")


def stop_sshd(old_server: RemoteHost) -> None:
    old_server.run(f"test ! -e {PIDFILE} || kill $(cat {PIDFILE}); rm -f {PIDFILE}",
                   check=False)


def ship_helper_image(deployment: Deployment, server: RemoteHost) -> None:
    """Built here, loaded there (as `images.push` ships the stack's images): the server's
    engine reaches no Debian archive in this test environment."""
    from pojemnik.declaration.loader import load_stack
    from pojemnik.engine.local import connect_local
    from pojemnik.operations.backup._helper import helper_image, image_spec

    with pytest.MonkeyPatch.context() as patch:
        for key, value in deployment.env.items():
            patch.setenv(key, value)
        stack, problems = load_stack(REPO)
    assert not problems, problems
    engine = connect_local(None)
    try:
        helper_image(engine, stack)
    finally:
        engine.close()
    push_image(server, image_spec(stack).tag)


@pytest.fixture(scope="module")
def repository(deployment: Deployment, server: RemoteHost,
               old_server: RemoteHost) -> Iterator[Repository]:
    path = f"/srv/backups/{deployment.project}-{secrets.token_hex(3)}"
    old_server.run(f"install -d -o deploy -g deploy -m 0700 {path}")
    ship_helper_image(deployment, server)
    address = old_server.network_address
    env = {"BACKUP_REPOSITORY": f"sftp://deploy@{address}:{PORT}/{path}",
           "BACKUP_KNOWN_HOSTS": f"[{address}]:{PORT} {old_server.host_key}"}
    made = deployment.fab(server, "backup.key", extra_env=env).stdout
    authorized = made.strip().splitlines()[-1]
    assert authorized.startswith('restrict,command="/usr/lib/openssh/sftp-server" ')
    old_server.run("cat >> ~deploy/.ssh/authorized_keys", stdin=(authorized + "\n").encode())
    start_sshd(old_server)
    try:
        yield Repository(env, path, authorized)
    finally:
        stop_sshd(old_server)
        old_server.run(f"grep -vxF {shlex.quote(authorized)} ~deploy/.ssh/authorized_keys "
                       "> /tmp/pjtest-keys; cat /tmp/pjtest-keys > ~deploy/.ssh/authorized_keys"
                       f"; rm -f /tmp/pjtest-keys; rm -rf {path}", check=False)
        psql(server, deployment.project, "DROP TABLE IF EXISTS backup_probe")
        server.as_user("root").run(f"docker image rm {deployment.project}/backup:latest",
                                   check=False)
        subprocess.run(["docker", "image", "rm", f"{deployment.project}/backup:latest"],
                       capture_output=True)  # the one built here


def test_backup_to_another_host_over_sftp_then_restore_puts_rows_back(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost,
        repository: Repository) -> None:
    project = deployment.project
    psql(server, project, "CREATE TABLE backup_probe (id serial PRIMARY KEY, body text); "
         "ALTER TABLE backup_probe OWNER TO app; "
         "INSERT INTO backup_probe (body) VALUES ('kept'), ('me')")
    made = deployment.fab(server, "backup.run", "--json", extra_env=repository.env)
    run = json.loads(made.stdout)
    assert sorted(run["parts"]) == ["db", "proxy-tls"]
    assert run["parts"]["db"]["tables"]["public.backup_probe"] == 2
    # The repository is on old-server, encrypted: restic's layout, no dump in the clear.
    listed = old_server.run(f"ls {repository.path}").text.split()
    assert {"config", "data", "index", "keys", "snapshots"} <= set(listed), listed
    found = old_server.run(f"grep -rl backup_probe {repository.path}", check=False)
    assert found.returncode == 1, found.text

    psql(server, project, "DELETE FROM backup_probe WHERE body = 'kept'")
    assert psql(server, project, "SELECT count(*) FROM backup_probe") == "1"
    deployment.fab(server, "backup.restore", "--yes", extra_env=repository.env)
    assert psql(server, project, "SELECT body FROM backup_probe ORDER BY id") == "kept\nme"

    drilled = json.loads(deployment.fab(server, "backup.drill", "--json",
                                        extra_env=repository.env).stdout)
    assert drilled["passed"], drilled
    backups = json.loads(deployment.fab(server, "backup.list", "--json",
                                        extra_env=repository.env).stdout)
    assert [b["run"] for b in backups] == [run["run"]]
    # Nothing secret reached the output or the helper's environment on the server.
    password = server.run(f"cat /srv/pojemnik/{project}/.secrets/{project}/"
                          "backup_password").text.strip()
    assert password and password not in made.stdout + made.stderr
    assert "PRIVATE KEY" not in made.stdout + made.stderr


def test_the_repository_host_stopped_fails_clearly_and_deletes_nothing(
        deployment: Deployment, server: RemoteHost, old_server: RemoteHost,
        repository: Repository) -> None:
    before = old_server.run(f"find {repository.path} -type f | sort").text
    assert "snapshots/" in before  # the previous test's backup
    stop_sshd(old_server)
    try:
        failed = deployment.fab(server, "backup.run", extra_env=repository.env, check=False)
    finally:
        start_sshd(old_server)
    said = failed.stdout + failed.stderr
    assert failed.returncode != 0, said
    assert "refused the connection; nothing was deleted, the next run tries again" in said \
        or "cannot be reached over SSH; nothing was deleted, the next run tries again" in said
    assert old_server.run(f"find {repository.path} -type f | sort").text == before
    history = deployment.fab(server, "history", "--json").stdout
    assert json.loads(history)["log"][-1]["result"].startswith("failed: ")
    # Up again: the next run works (retention then keeps the day's newest complete run).
    again = json.loads(deployment.fab(server, "backup.run", "--json",
                                      extra_env=repository.env).stdout)
    backups = json.loads(deployment.fab(server, "backup.list", "--json",
                                        extra_env=repository.env).stdout)
    assert [b["run"] for b in backups] == [again["run"]]
