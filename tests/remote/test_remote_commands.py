"""`fab -H deploy@server run|exec SERVICE COMMAND` on the deployed example, and its release
command run over the same SSH connection by the session's first remote deploy."""

from __future__ import annotations

import json

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


@pytest.mark.xfail(reason="issue 20 open: in the full suite the shared remote deployment "
                   "lacks agent.json and the django_session table (passes alone)",
                   strict=False)
def test_the_first_remote_deploy_installed_the_agent_for_clearsessions(
        deployment: Deployment, server: RemoteHost) -> None:
    """Declared is scheduled: the deploy installed the agent (no systemd in the test
    server: it says the cron line), run by the server's own python3."""
    project = deployment.project
    assert "no systemd here; installed /usr/local/lib/pojemnik/pojemnik-agent.pyz" in \
        deployment.first_deploy
    assert f"--config /etc/pojemnik/{project}/agent.json" in deployment.first_deploy
    mode = server.run(f"sudo -n stat -c '%a %U' /etc/pojemnik/{project}/agent.json").text
    assert mode.split() == ["600", "root"]
    calendar = server.run("/usr/bin/python3 /usr/local/lib/pojemnik/pojemnik-agent.pyz "
                          "calendar daily").text
    assert "OnCalendar=*-*-* 00:00:00" in calendar


@pytest.mark.xfail(reason="issue 20 open: in the full suite the shared remote deployment "
                   "lacks agent.json and the django_session table (passes alone)",
                   strict=False)
def test_jobs_run_over_ssh_runs_clearsessions_and_jobs_list_shows_it(
        deployment: Deployment, server: RemoteHost) -> None:
    ran = deployment.fab(server, "jobs.run", "clearsessions", check=False)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "pojemnik-agent run job-clearsessions" in ran.stdout + ran.stderr
    listed = json.loads(deployment.fab(server, "jobs.list", "--json").stdout)
    assert [(j["name"], j["schedule"]) for j in listed] == [("clearsessions", "daily")]
    last = listed[0]["last_run"]
    assert last is not None and last["exit"] == 0 and last["ok"], listed
    status = deployment.fab(server, "status").stdout
    assert "job clearsessions (daily): ok at " in status
    left = server.run(f"docker ps -aq --filter label=pojemnik.project={deployment.project} "
                      "--filter label=pojemnik.kind=oneoff").text.split()
    assert left == []
    unknown = deployment.fab(server, "jobs.run", "clearsesions", check=False)
    assert unknown.returncode == 2 and "unknown job 'clearsesions'" in unknown.stderr
