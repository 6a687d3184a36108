"""The example app shows APP_VERSION (issue #9 item 8): a new version deployed from `.env`
(here the environment) is what the proxy serves, and the database still answers."""

from __future__ import annotations

import docker
import pytest

from .conftest import Copy
from .test_deploy import get
from .test_update import Requests

pytestmark = pytest.mark.integration


def test_deployed_version_is_shown_through_the_proxy(client: docker.DockerClient,
                                                     deployed: Copy) -> None:
    status, body = get(deployed, "app.localhost")
    assert status == 200 and "version: 1" in body and "database: ok" in body, body
    try:
        result = deployed.invoke("deploy", extra_env={"APP_VERSION": "7"})
        assert "recreated 1" in result.stdout, result.stdout
        env = client.api.inspect_container(f"{deployed.project}-app")["Config"]["Env"]
        assert "APP_VERSION=7" in env and "APP_FAIL_HEALTH=0" in env
        status, body = get(deployed, "app.localhost")
        assert status == 200, body
        assert "version: 7" in body and "database: ok" in body, body
        assert get(deployed, "app.localhost", "/healthz") == (200, "ok\n")
    finally:
        deployed.invoke("deploy")  # back to the declared version for the other tests
    assert "version: 1" in get(deployed, "app.localhost")[1]


def test_failing_health_fails_the_deploy_while_the_app_still_serves(
        client: docker.DockerClient, deployed: Copy) -> None:
    app = f"{deployed.project}-app"
    try:
        with Requests(deployed, "app.localhost", "database: ok") as requests:
            result = deployed.invoke("deploy", check=False,
                                     extra_env={"APP_FAIL_HEALTH": "1"})
        assert requests.failures == []  # the old one served throughout
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert app in output and "did not become ready" in output, output
        # The health command's own output: the status and Django's reason.
        assert "503 Service Unavailable: failing on purpose: APP_FAIL_HEALTH=1" in output
        # Health-gated: the replacement is gone, the old container (old env) serves on.
        env = client.api.inspect_container(app)["Config"]["Env"]
        assert "APP_FAIL_HEALTH=0" in env, env
        names = [c["Names"][0] for c in client.api.containers(
            all=True, filters={"label": f"pojemnik.project={deployed.project}"})]
        assert f"/{app}-next" not in names, names
        status, body = get(deployed, "app.localhost")
        assert status == 200 and "database: ok" in body and "version: 1" in body, body
    finally:
        deployed.invoke("deploy")
    assert client.api.inspect_container(app)["State"]["Health"]["Status"] == "healthy"
