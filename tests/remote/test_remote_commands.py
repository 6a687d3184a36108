"""`fab -H deploy@server run|exec SERVICE COMMAND` on the deployed example, and its release
command run over the same SSH connection by the session's first remote deploy."""

from __future__ import annotations

import pytest

from .conftest import Deployment
from .hosts import RemoteHost

pytestmark = pytest.mark.remote


def test_the_first_remote_deploy_ran_the_app_s_release_command(
        deployment: Deployment) -> None:
    assert "release command `python3 /srv/app/manage.py migrate --noinput`" in \
        deployment.first_deploy
    assert "release command done" in deployment.first_deploy


def test_run_over_ssh_has_the_service_s_environment_and_exit_code(
        deployment: Deployment, server: RemoteHost) -> None:
    result = deployment.fab(server, "run", "--no-tty", "app",
                            "test -s /run/secrets/db_password && echo db=$DB_NAME; exit 3",
                            check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "db=app" in result.stdout
    left = server.run(f"docker ps -aq --filter label=pojemnik.project={deployment.project} "
                      "--filter label=pojemnik.kind=oneoff").text.split()
    assert left == []


def test_exec_over_ssh_runs_in_the_live_container(deployment: Deployment,
                                                  server: RemoteHost) -> None:
    live = server.run(f"docker inspect -f '{{{{.Id}}}}' {deployment.project}-app").text
    result = deployment.fab(server, "exec", "--no-tty", "app", "hostname; exit 4", check=False)
    assert result.returncode == 4, result.stdout + result.stderr
    assert live.strip().startswith(result.stdout.strip().splitlines()[-1])
