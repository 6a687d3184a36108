"""`fab -H deploy@server maintenance.on/off` on the deployed example: the page from the
server's published port, an allowed network passing through, the state on the server
(its stack directory), `status` over SSH showing it, and off again."""

from __future__ import annotations

import json

import pytest

from pojemnik.hostfiles.layout import remote_dir

from .conftest import Deployment
from .hosts import RemoteHost
from .test_remote_deploy import get

pytestmark = pytest.mark.remote


def test_maintenance_on_and_off_over_ssh(deployment: Deployment, server: RemoteHost) -> None:
    port = deployment.http_port
    state = f"{remote_dir(deployment.project)}/.pojemnik/{deployment.project}/upstreams/" \
        "maintenance.json"
    try:
        on = deployment.fab(server, "maintenance.on", "--site", "app.localhost",
                            "--message", "Remote <work>")
        assert "maintenance: ON for app.localhost" in on.stdout
        status, body = get(server, port, "app.localhost")
        assert status == 503 and "Remote &lt;work&gt;" in body
        assert get(server, port, "php.localhost")[0] == 200
        assert json.loads(server.run(f"cat {state}").text)["sites"] == ["app.localhost"]
        assert "maintenance: ON for app.localhost" in deployment.fab(server, "status").stdout
        deployment.fab(server, "maintenance.on", "--site", "app.localhost",
                       "--allow", "0.0.0.0/0")  # every IPv4 client passes through
        assert get(server, port, "app.localhost")[0] == 200
    finally:
        off = deployment.fab(server, "maintenance.off")
    assert "maintenance: off" in off.stdout
    assert get(server, port, "app.localhost")[0] == 200
    assert "already" in deployment.fab(server, "maintenance.off").stdout
    assert json.loads(server.run(f"cat {state}").text)["on"] is False
