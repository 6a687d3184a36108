"""`pojemnik init` then `invoke check` and `invoke deploy` on the made project, as is:
the site answers on its published port, hardened like the example's services."""

from __future__ import annotations

import http.client
import ipaddress
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from .conftest import INVOKE, MADE, TEST_PREFIX, free_port, free_subnets, remove_projects

pytestmark = pytest.mark.integration

POJEMNIK = Path(sys.executable).parent / "pojemnik"  # the console script, installed with us


@dataclass(frozen=True)
class Made:
    project: str
    root: Path
    port: int
    subnet: str
    env: dict[str, str]

    def invoke(self, *args: str) -> str:
        result = subprocess.run([*INVOKE, *args], cwd=self.root, env=self.env, text=True,
                                capture_output=True, timeout=1800, check=False)
        assert result.returncode == 0, (f"invoke {' '.join(args)} failed "
                                        f"({result.returncode}):\n{result.stdout}\n"
                                        f"{result.stderr}")
        return result.stdout


@pytest.fixture(scope="module")
def made(client: docker.DockerClient, stale_cleaned: None,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    """A project made by `pojemnik init`, as project pjtest-*; removed whatever happens."""
    root = tmp_path_factory.mktemp("init") / "my site"
    result = subprocess.run([str(POJEMNIK), "init", str(root)], capture_output=True,
                            text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    project = f"{TEST_PREFIX}{secrets.token_hex(3)}"
    MADE.add(project)
    port, subnet = free_port(), free_subnets(client, 1)[0]
    env = {**os.environ, "POJEMNIK_PROJECT": project, "WEB_PORT": str(port),
           "WEB_SUBNET": subnet, "PUBLISH_ADDRESS": "127.0.0.1"}
    try:
        yield Made(project, root, port, subnet, env)
    finally:
        remove_projects(client, project)


def get(port: int, path: str = "/") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def test_the_made_project_checks_deploys_and_serves(made: Made,
                                                     client: docker.DockerClient) -> None:
    assert "no problems" in made.invoke("check")
    made.invoke("deploy")
    status, body = get(made.port)
    assert status == 200
    assert "<title>my-site</title>" in body  # www/index.html, bind-mounted
    assert get(made.port, "/healthz") == (200, "ok\n")

    # Deploy returns once the health command passed (probed at once); Docker's own status
    # follows at its next interval.
    for _ in range(120):
        container = client.api.inspect_container(f"{made.project}-web")
        if container["State"]["Health"]["Status"] != "starting":
            break
        time.sleep(0.5)
    assert container["State"]["Health"]["Status"] == "healthy"
    assert container["Config"]["User"] == "10001:10001"
    assert container["HostConfig"]["ReadonlyRootfs"] is True
    assert "/tmp" in container["HostConfig"]["Tmpfs"]
    address = container["NetworkSettings"]["Networks"][f"{made.project}-web"]["IPAddress"]
    assert address == str(ipaddress.ip_network(made.subnet)[2])
    bindings = container["HostConfig"]["PortBindings"]["8080/tcp"]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(made.port)}]


def test_a_second_deploy_of_the_made_project_changes_nothing(made: Made) -> None:
    out = made.invoke("deploy")
    assert "built 0, created 0, recreated 0, started 0, reloaded 0" in out, out


def test_an_edited_site_config_is_reloaded(made: Made) -> None:
    conf = made.root / "config/web/nginx.conf"
    conf.write_text(conf.read_text().replace('return 200 "ok\\n";', 'return 200 "fine\\n";'))
    out = made.invoke("deploy")
    assert "reloaded 1" in out, out
    assert get(made.port, "/healthz") == (200, "fine\n")
