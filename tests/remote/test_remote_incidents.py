"""`fab -H deploy@server status` lists the open incidents the server's checks keep in the
agent's state directory on the server (issue 21 item 2), read over the task's SSH
connection as the deploy user (the file is the agent's, written by root, readable)."""

from __future__ import annotations

import json
import shlex

import pytest

from pojemnik.agent.alerts.incidents import Result, run
from pojemnik.operations.upkeep.watch import state_dir

from .conftest import Deployment
from .hosts import RemoteHost

pytestmark = pytest.mark.remote


def test_status_over_ssh_lists_the_open_incidents(deployment: Deployment, server: RemoteHost,
                                                  server_root: RemoteHost) -> None:
    states, _ = run({}, {"container app": Result(False, "app is unhealthy"),
                         "disk /": Result(True)}, "2026-12-07T10:00:00+00:00", open_after=1)
    folder = state_dir(deployment.project)
    text = json.dumps({"checks": {n: s.as_json() for n, s in states.items()}})
    server_root.run(f"mkdir -p {shlex.quote(folder)} && cat > {shlex.quote(folder)}/"
                    "alerts.json && chmod 644 " + shlex.quote(f"{folder}/alerts.json"),
                    stdin=text.encode())
    try:
        shown = deployment.fab(server, "status").stdout
        assert "alerts: 1 open incident(s)" in shown, shown
        assert "container app: since 2026-12-07T10:00:00+00:00: app is unhealthy" in shown
        found = json.loads(deployment.fab(server, "status", "--json").stdout)
        assert [i["check"] for i in found["incidents"]] == ["container app"]
    finally:
        server_root.run(f"rm -rf {shlex.quote(folder.rsplit('/', 1)[0])}")
