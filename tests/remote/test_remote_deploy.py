"""`fab -H deploy@server deploy`: the example stack on a real remote engine over real SSH.

Images are built locally once and loaded into the server's engine (as a laptop would ship
them to a small server); the deploy itself then runs entirely over the SSH connection.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
from pathlib import Path

import pytest

from .conftest import FAB, REPO, Deployment
from .hosts import RemoteHost

pytestmark = pytest.mark.remote


def get(host: RemoteHost, port: int, site: str) -> tuple[int, str]:
    """Through the server's published port, at its address on the test network."""
    conn = http.client.HTTPConnection(host.network_address, port, timeout=30)
    try:
        conn.request("GET", "/", headers={"Host": site})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def test_images_built_here_are_shipped_once(deployment: Deployment,
                                            server: RemoteHost) -> None:
    for image in ("proxy", "php", "webserver-nginx", "postgres"):
        assert f"image {deployment.project}/{image}:latest: loaded" in deployment.pushed
    again = deployment.fab(server, "images.push").stdout
    assert again.count("already on the host") == 5  # four images and the base


def test_remote_deploy_serves_the_sites(deployment: Deployment, server: RemoteHost) -> None:
    first = deployment.first_deploy
    assert "built 0" in first, first  # the shipped images are up to date
    assert "created 9" in first and "files:" in first  # config/ and www/ were mirrored
    for site in ("updates.localhost", "packages.localhost"):
        status, body = get(server, deployment.http_port, site)
        assert status == 200 and site in body
    for site in ("php.localhost", "app.localhost"):
        assert "database: ok" in get(server, deployment.http_port, site)[1]
    # The bind mounts point at the documented directory on the server.
    mounts = server.run(f"docker inspect -f '{{{{json .Mounts}}}}' {deployment.project}-proxy")
    assert f"/srv/pojemnik/{deployment.project}/config/nginx" in mounts.text
    secrets = server.run(f"stat -c %a /srv/pojemnik/{deployment.project}/.secrets")
    assert secrets.text.strip() == "700"


def test_second_remote_deploy_is_a_no_op(deployment: Deployment, server: RemoteHost) -> None:
    before = server.run(f"docker ps -q --no-trunc --filter "
                        f"label=pojemnik.project={deployment.project}").text.split()
    result = deployment.fab(server, "deploy")
    assert "nothing to do" in result.stdout
    assert "built 0, created 0, recreated 0, started 0, reloaded 0" in result.stdout
    after = server.run(f"docker ps -q --no-trunc --filter "
                       f"label=pojemnik.project={deployment.project}").text.split()
    assert sorted(before) == sorted(after) and len(after) == 4


def test_secrets_are_made_on_the_host_and_never_sent(deployment: Deployment,
                                                     server: RemoteHost) -> None:
    secret = f"/srv/pojemnik/{deployment.project}/.secrets/{deployment.project}/db_password"
    on_server = server.run(f"cat {secret}").text
    assert len(on_server) >= 32
    assert server.run(f"stat -c %a {secret}").text.strip() == "644"  # in a 0700 directory
    local = REPO / ".secrets" / deployment.project / "db_password"
    assert not local.exists()  # the checkout never held the server's password
    # A checkout with a password of its own (e.g. from a local deploy) does not replace it.
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text("the-checkouts-own-password")
    try:
        result = deployment.fab(server, "deploy")
    finally:
        local.unlink()
    assert "differs from" in result.stdout and "the host's is kept" in result.stdout
    assert "the-checkouts-own-password" not in result.stdout + result.stderr
    assert "nothing to do" in result.stdout
    assert server.run(f"cat {secret}").text == on_server
    assert "database: ok" in get(server, deployment.http_port, "php.localhost")[1]


def test_remote_rollback_goes_back_over_ssh(deployment: Deployment,
                                            server: RemoteHost) -> None:
    from pojemnik.hostfiles.files import RemoteFiles

    deployment.fab(server, "deploy", extra_env={"APP_VERSION": "2"})
    assert "version: 2" in get(server, deployment.http_port, "app.localhost")[1]
    result = deployment.fab(server, "rollback")
    assert "app rolled back to release 1" in result.stdout
    assert "version: 1" in get(server, deployment.http_port, "app.localhost")[1]
    base = f"/srv/pojemnik/{deployment.project}/.pojemnik/{deployment.project}"
    assert server.run(f"stat -c %a {base}/releases/app.json").text.strip() == "600"
    history = deployment.fab(server, "history").stdout
    assert re.search(r"rollback\s+ok\s+app to release 1", history), history
    assert f"{deployment.project}/releases:app-2" in history
    assert "nothing to do" in deployment.fab(server, "deploy").stdout  # as declared
    # A record too large for one command line goes on standard input.
    big = "release " * 40_000
    with server.fabric_connection() as connection:
        files = RemoteFiles(connection)
        files.write(base, "large.test", big, mode=0o600)
        assert files.read(base, "large.test") == big
    assert server.run(f"stat -c %a {base}/large.test").text.strip() == "600"


def test_remote_tasks_list_and_log(deployment: Deployment, server: RemoteHost) -> None:
    ps = deployment.fab(server, "ps").stdout
    assert f"{deployment.project}-proxy" in ps and "healthy" in ps
    images = deployment.fab(server, "images.list").stdout
    assert f"{deployment.project}/proxy:latest" in images
    logs = deployment.fab(server, "logs", "--name", "db", "--tail", "all").stdout
    assert logs.strip()


def test_remote_status_reports_the_hosts_figures(deployment: Deployment,
                                                 server: RemoteHost) -> None:
    data = json.loads(deployment.fab(server, "status", "--json").stdout)
    rows = {s["service"]: s for s in data["services"]}
    assert set(rows) == {"db", "php", "app", "proxy"}
    assert all(r["state"] == "running" and r["memory_used"] > 0 for r in rows.values())
    host = data["host"]
    assert host["memory_total"] > 0
    assert host["disk_total"] and host["disk_free"]  # `df` over the SSH connection
    since = deployment.fab(server, "logs", "--name", "db", "--since", "1h")
    assert since.returncode == 0


def test_a_changed_host_key_is_refused(deployment: Deployment, server: RemoteHost,
                                       tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    impostor = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    known = tmp_path / "known_hosts"
    known.write_text(f"[{server.host}]:{server.port} {impostor}\n")
    result = deployment.fab(server, "ps", known_hosts=known, check=False)
    assert result.returncode != 0
    assert "host key CHANGED" in result.stdout + result.stderr
    assert "ssh-keygen -R" in result.stdout + result.stderr


def test_an_unknown_host_key_is_refused_unless_trusted(deployment: Deployment,
                                                       server: RemoteHost,
                                                       tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text("")
    result = deployment.fab(server, "ps", known_hosts=known, check=False)
    assert result.returncode != 0
    assert "unknown host key" in result.stdout + result.stderr
    assert known.read_text() == ""
    trusted = deployment.fab(server, "ps", known_hosts=known,
                             extra_env={"POJEMNIK_TRUST_NEW_HOST": "1"})
    assert f"{deployment.project}-proxy" in trusted.stdout
    assert server.host_key.split()[1] in known.read_text()  # saved: trusted on first use


def test_an_unreachable_host_fails_within_the_timeout(deployment: Deployment,
                                                      server: RemoteHost) -> None:
    # Accepts TCP connections but never speaks SSH: only the timeout ends the wait.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        mute = RemoteHost(name="mute", port=port, user="deploy", key_path=server.key_path,
                          known_hosts_path=server.known_hosts_path, host_key="")
        result = deployment.fab(mute, "ps", extra_env={"POJEMNIK_CONNECT_TIMEOUT": "3"},
                                check=False, timeout=120)
    assert result.returncode != 0
    assert "no SSH answer within 3 s" in result.stdout + result.stderr


def test_a_host_without_docker_is_explained(deployment: Deployment,
                                            old_server: RemoteHost) -> None:
    result = deployment.fab(old_server, "ps", check=False)
    assert result.returncode != 0
    assert "Docker is not installed" in result.stdout + result.stderr


def test_a_user_outside_the_docker_group_is_explained(deployment: Deployment,
                                                      server: RemoteHost) -> None:
    root = server.as_user("root")
    root.run("id outsider >/dev/null 2>&1 || useradd -m -s /bin/sh outsider; "
             "install -d -o outsider -m 700 /home/outsider/.ssh; "
             "cp /home/deploy/.ssh/authorized_keys /home/outsider/.ssh/; "
             "chown outsider /home/outsider/.ssh/authorized_keys")
    result = deployment.fab(server.as_user("outsider"), "ps", check=False)
    assert result.returncode != 0
    assert "may not use Docker" in result.stdout + result.stderr


def test_bootstrap_prepares_the_host(deployment: Deployment, server: RemoteHost) -> None:
    result = deployment.fab(server.as_user("root"), "server.bootstrap", "--owner", "deploy")
    assert "ready (Docker" in result.stdout
    assert "declared limits 640 MiB" in result.stdout
    owner = server.run(f"stat -c '%U %a' /srv/pojemnik/{deployment.project}").text.strip()
    assert owner == "deploy 750"
    groups = server.run("id -nG deploy").text.split()
    assert "docker" in groups


def test_several_hosts_run_in_parallel_with_a_result_each(deployment: Deployment,
                                                          server: RemoteHost,
                                                          old_server: RemoteHost) -> None:
    hosts = ",".join(f"{h.user}@{h.host}:{h.port}" for h in (server, old_server))
    result = subprocess.run(
        [*FAB, "-H", hosts, "-i", str(server.key_path), "ps"], cwd=REPO, text=True,
        capture_output=True, timeout=300,
        env={**deployment.env, "POJEMNIK_KNOWN_HOSTS": str(server.known_hosts_path)})
    output = result.stdout + result.stderr
    good = f"[{server.user}@{server.host}:{server.port}]"
    bad = f"[{old_server.user}@{old_server.host}:{old_server.port}]"
    assert result.returncode == 1, output
    assert f"{good} NAME" in output, output  # its ps table, each line marked with its host
    assert f"{good} ok" in output, output
    assert f"{bad} FAILED:" in output and "Docker is not installed" in output
    assert f"1 of 2 hosts failed: {bad[1:-1]}" in output
