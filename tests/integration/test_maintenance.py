"""Maintenance mode on a deployed scratch copy of the example: `maintenance.on/off` under a
request every 20 ms (every answer a 200 or a 503, never a connection error), the page with
`Retry-After` and the escaped message, an allowed address passing through for real (a
request from the app's container on the services network, while the host's requests,
which the proxy sees from the network's gateway, get the page), bad input refused with
nothing changed, the mode kept by a proxy a redeploy makes, and a release command that
needs maintenance turning it on for its run and off after its failure."""

from __future__ import annotations

import http.client
import ipaddress
import json
import threading
import time
from collections.abc import Iterator

import docker
import pytest

from .conftest import Copy, deployed_copy
from .test_release import declare_release

pytestmark = pytest.mark.integration

MESSAGE = 'Back <soon> & "quick" $HOME'
ESCAPED = "Back &lt;soon&gt; &amp; &quot;quick&quot; &#36;HOME"
# Asks the proxy from inside a container (on the services network), prints the status.
ASK = ('import sys, urllib.request, urllib.error\n'
       'request = urllib.request.Request(sys.argv[1], headers={"Host": sys.argv[2]})\n'
       'try:\n    print("status", urllib.request.urlopen(request, timeout=10).status)\n'
       'except urllib.error.HTTPError as error:\n    print("status", error.code)\n')


@pytest.fixture(scope="module")
def site(client: docker.DockerClient, stale_cleaned: None,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    made = deployed_copy(client, tmp_path_factory, "maintenance")
    copy = next(made)
    (copy.root / "www/app.localhost/ask.py").write_text(ASK)
    yield copy
    next(made, None)  # removes the copy


def get(copy: Copy, host: str) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", copy.http_port, timeout=10)
    try:
        conn.request("GET", "/", headers={"Host": host})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def proxy_url(copy: Copy) -> str:
    return f"http://{ipaddress.ip_network(copy.services)[3]}:8080/"


def from_app(copy: Copy, host: str) -> str:
    """The status the proxy answers the app's live container (its own address)."""
    result = copy.invoke("exec", "app", f"python3 /srv/app/ask.py {proxy_url(copy)} {host}",
                         "--no-tty")
    return result.stdout.strip().split()[-1]


def app_address(client: docker.DockerClient, copy: Copy) -> str:
    networks = client.api.inspect_container(f"{copy.project}-app")["NetworkSettings"]
    return str(networks["Networks"][f"{copy.project}-services"]["IPAddress"])


class Statuses(threading.Thread):
    """A request every 20 ms from the host: each answer's status, and every error."""

    def __init__(self, copy: Copy, host: str) -> None:
        super().__init__(daemon=True)
        self.copy, self.host = copy, host
        self.stop = threading.Event()
        self.seen: list[int] = []
        self.errors: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + 600
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self.seen.append(get(self.copy, self.host)[0])
            except OSError as error:
                self.errors.append(repr(error))
            time.sleep(0.02)

    def answers(self, at_least: int) -> None:
        """Wait for `at_least` more answers (bounded by a count of tries, not a time)."""
        wanted = len(self.seen) + at_least
        for _ in range(5000):
            if len(self.seen) >= wanted or self.errors:
                return
            time.sleep(0.02)

    def __enter__(self) -> Statuses:
        self.start()
        self.answers(10)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.join()
        print(f"{self.host}: {len(self.seen)} answers, {self.seen.count(503)} of them 503, "
              f"{len(self.errors)} errors")  # reported, not asserted


def test_bad_input_is_refused_and_nothing_changes(site: Copy) -> None:
    typo = site.invoke("maintenance.on", "--site", "app.localhots", check=False)
    assert typo.returncode != 0
    assert "no site 'app.localhots'" in typo.stderr and "did you mean 'app.localhost'" \
        in typo.stderr
    network = site.invoke("maintenance.on", "--allow", "10.0.0.300/8", check=False)
    assert network.returncode != 0 and "'10.0.0.300/8' is not an address" in network.stderr
    assert "nothing was changed" in network.stderr
    assert get(site, "app.localhost")[0] == 200
    assert "maintenance: off" in site.invoke("status").stdout


def test_on_and_off_under_requests_with_an_allowed_address(
        client: docker.DockerClient, site: Copy) -> None:
    allowed = app_address(client, site)
    with Statuses(site, "updates.localhost") as loop:
        on = site.invoke("maintenance.on", "--site", "app.localhost,updates.localhost",
                         "--message", MESSAGE, "--allow", allowed)
        assert "maintenance: ON for app.localhost, updates.localhost" in on.stdout
        after_on = len(loop.seen)
        loop.answers(10)
        status, headers, body = get(site, "app.localhost")
        assert status == 503 and headers["Retry-After"] == "300"
        assert ESCAPED in body and "<soon>" not in body
        assert get(site, "php.localhost")[0] == 200  # not named: serving
        assert from_app(site, "app.localhost") == "200"  # the allowed address
        again = site.invoke("maintenance.on", "--site", "app.localhost,updates.localhost",
                            "--message", MESSAGE, "--allow", allowed)
        assert "already; nothing to reload" in again.stdout
        shown = json.loads(site.invoke("status", "--json").stdout)["maintenance"]
        assert shown["on"] and shown["allow"] == [f"{allowed}/32"]
        before_off = len(loop.seen)
        site.invoke("maintenance.off")
        after_off = len(loop.seen)
        loop.answers(10)
    assert loop.errors == []
    assert set(loop.seen) <= {200, 503}
    # Once a switch returned, the new mode answers (a request already in flight when
    # it returned may still get the old one).
    assert set(loop.seen[after_on + 1:before_off]) == {503}
    assert set(loop.seen[after_off + 1:]) == {200}, loop.seen[after_off - 3:]
    assert get(site, "app.localhost")[0] == 200
    assert from_app(site, "app.localhost") == "200"
    assert "maintenance: off (already" in site.invoke("maintenance.off").stdout


def test_the_host_is_not_allowed_when_only_another_address_is(site: Copy) -> None:
    site.invoke("maintenance.on", "--allow", "192.0.2.1")  # every site
    try:
        assert get(site, "php.localhost")[0] == 503
        assert from_app(site, "php.localhost") == "503"
    finally:
        site.invoke("maintenance.off")


def test_a_redeploy_while_on_keeps_it_on(client: docker.DockerClient, site: Copy) -> None:
    site.invoke("maintenance.on", "--site", "app.localhost")
    try:
        proxy = client.containers.get(f"{site.project}-proxy")
        proxy.remove(force=True)
        result = site.invoke("deploy")
        assert f"container {site.project}-proxy: create" in result.stdout
        assert get(site, "app.localhost")[0] == 503
        assert get(site, "packages.localhost")[0] == 200
        assert "maintenance: ON for app.localhost" in site.invoke("status").stdout
    finally:
        site.invoke("maintenance.off")
    assert get(site, "app.localhost")[0] == 200


def test_a_release_that_needs_maintenance_has_it_during_its_run_and_not_after_failing(
        site: Copy) -> None:
    stack = site.root / "stack.py"
    stack.write_text(stack.read_text().replace("from pojemnik import (\n",
                                               "from pojemnik import (\n    Release,\n", 1))
    command = f"python3 /srv/app/ask.py {proxy_url(site)} app.localhost; exit 7"
    declare_release(site, f"release=Release({command!r}, maintenance=True),")
    site.env["APP_VERSION"] = "2"
    result = site.invoke("deploy", check=False)
    assert result.returncode != 0
    assert "app release | status 503" in result.stdout  # during its run
    assert "maintenance: off" in result.stdout  # after it
    assert get(site, "app.localhost")[0] == 200
    assert "maintenance: off" in site.invoke("status").stdout
