"""Environments over SSH: staging (`POJEMNIK_ENV=staging`, `.env.staging` moving its ports
and subnets) deployed with `fab -H` beside the session's deployed stack on the same
server, in its own directory there; `down --volumes` of staging leaves the other
serving with its volumes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .conftest import FAB, IMAGES, REPO, Deployment
from .hosts import RemoteHost
from .test_remote_deploy import get

pytestmark = pytest.mark.remote

STAGING_PORT = 48080  # apart from the session's 28080 and the bare tests' 38080
SETTINGS = ("HTTP_PORT", "HTTPS_PORT", "ISOLATED_SUBNET", "SERVICES_SUBNET")


@pytest.fixture(scope="module")
def staging(deployment: Deployment, server: RemoteHost) -> Iterator[Deployment]:
    env_file = REPO / ".env.staging"
    assert not env_file.exists(), f"{env_file} exists: this test writes its own"
    env_file.write_text(f"HTTP_PORT={STAGING_PORT}\nHTTPS_PORT={STAGING_PORT + 363}\n"
                        "ISOLATED_SUBNET=10.0.130.0/24\nSERVICES_SUBNET=10.0.140.0/24\n")
    env = {k: v for k, v in deployment.env.items() if k not in SETTINGS}
    copy = Deployment(f"{deployment.project}-staging", {**env, "POJEMNIK_ENV": "staging"},
                      STAGING_PORT, STAGING_PORT + 363)
    try:
        build = subprocess.run([sys.executable, "-m", "invoke", "images.build"], cwd=REPO,
                               env=copy.env, capture_output=True, text=True)
        assert build.returncode == 0, build.stdout + build.stderr
        copy.fab(server, "images.push")
        copy.fab(server, "deploy")
        yield copy
    finally:
        copy.fab(server, "down", "--volumes", "--images", check=False)
        env_file.unlink(missing_ok=True)
        server.run(f"rm -rf /srv/pojemnik/{copy.project}")
        for image in IMAGES:  # built here by images.push
            subprocess.run(["docker", "rmi", f"{copy.project}/{image}:latest"],
                           capture_output=True)
        (REPO / ".pojemnik" / f"{copy.project}.json").unlink(missing_ok=True)
        for made in (REPO / ".pojemnik" / copy.project, REPO / ".pojemnik" / "logs" /
                     copy.project):  # its history and build logs, kept here
            shutil.rmtree(made, ignore_errors=True)


def volumes(server: RemoteHost, project: str) -> list[str]:
    listed = server.run(f"docker volume ls -q --filter label=pojemnik.project={project}")
    return sorted(listed.text.split())


def test_remote_staging_serves_beside_the_deployed_stack(
        deployment: Deployment, staging: Deployment, server: RemoteHost) -> None:
    for copy in (deployment, staging):
        status, body = get(server, copy.http_port, "app.localhost")
        assert status == 200 and "database: ok" in body, (copy.project, body)
    mounts = server.run(f"docker inspect -f '{{{{json .Mounts}}}}' {staging.project}-proxy")
    assert f"/srv/pojemnik/{staging.project}/config/nginx" in mounts.text
    assert server.run(f"test -s /srv/pojemnik/{staging.project}/.secrets/{staging.project}"
                      "/db_password && echo made").text.strip() == "made"


def test_remote_staging_hosts_from_its_settings_without_h(
        staging: Deployment, server: RemoteHost) -> None:
    """`POJEMNIK_HOSTS` in `.env.staging`: `fab ps` with no -H runs on staging's server."""
    env_file = REPO / ".env.staging"
    before = env_file.read_text()
    env_file.write_text(before + f"POJEMNIK_HOSTS={server.user}@{server.host}:{server.port}\n")
    try:
        result = subprocess.run(
            [*FAB, "-i", str(server.key_path), "ps"], cwd=REPO, text=True,
            capture_output=True, timeout=600,
            env={**staging.env, "POJEMNIK_KNOWN_HOSTS": str(server.known_hosts_path)})
    finally:
        env_file.write_text(before)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{staging.project}-proxy" in result.stdout, result.stdout
    assert "POJEMNIK_HOSTS from .env.staging:5" in result.stderr, result.stderr


def test_remote_staging_down_volumes_leaves_the_other_serving(
        deployment: Deployment, staging: Deployment, server: RemoteHost) -> None:
    theirs = volumes(server, deployment.project)
    assert theirs and volumes(server, staging.project)
    staging.fab(server, "down", "--volumes")
    assert volumes(server, staging.project) == []
    assert volumes(server, deployment.project) == theirs
    status, body = get(server, deployment.http_port, "app.localhost")
    assert status == 200 and "database: ok" in body

