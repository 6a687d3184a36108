"""Zero-downtime updates and graceful teardown, on a deployed scratch copy of the example.

Under requests every 20 ms through the proxy: an env change of a start-first service
(app, php) is deployed with no failed request, and the new container serves after; a
replacement that never becomes ready is removed while the old one keeps serving; a
deploy killed in the middle of an update is finished by the next one; `down` stops in
reverse dependency order, one wave at a time. Counts are asserted, never times.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import docker
import pytest

from .conftest import INVOKE, Copy, deployed_copy

pytestmark = pytest.mark.integration

SERVICES = ("proxy", "php", "app", "db")
SIGNALS = {"2": "INT", "3": "QUIT", "15": "TERM", "9": "KILL"}


@pytest.fixture(scope="module")
def rolling(client: docker.DockerClient, stale_cleaned: None,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    yield from deployed_copy(client, tmp_path_factory, "update")


class Requests(threading.Thread):
    """A request every 20 ms through the proxy (bounded), counting failures and non-200
    answers, and the longest time between two answers (reported, not asserted)."""

    def __init__(self, copy: Copy, host: str, expect: str) -> None:
        super().__init__(daemon=True)
        self.copy, self.host, self.expect = copy, host, expect
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []
        self.longest_gap = 0.0

    def run(self) -> None:
        last = time.monotonic()
        deadline = last + 600
        while not self.stop.is_set() and time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", self.copy.http_port, timeout=10)
            try:
                conn.request("GET", "/", headers={"Host": self.host})
                response = conn.getresponse()
                body = response.read().decode(errors="replace")
                if response.status == 200 and self.expect in body:
                    self.ok += 1
                else:
                    self.failures.append(f"{response.status}: {body[:80]}")
            except OSError as error:
                self.failures.append(repr(error))
            finally:
                conn.close()
            now = time.monotonic()
            self.longest_gap = max(self.longest_gap, now - last)
            last = now
            time.sleep(0.02)

    def __enter__(self) -> Requests:
        self.start()
        while self.ok < 10 and not self.failures:  # serving before the change
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        served = self.ok
        while self.ok < served + 10 and len(self.failures) < 50:  # and after it
            time.sleep(0.02)
        self.stop.set()
        self.join()
        print(f"{self.host}: {self.ok} ok, {len(self.failures)} failed, "
              f"longest gap {self.longest_gap:.3f} s")


def set_env(copy: Copy, service: str, name: str, value: str) -> None:
    """Set one environment value of a service in stack.py (added first in its
    `environment={...}`, or its value replaced), keeping the others."""
    stack = copy.root / "stack.py"
    text = stack.read_text()
    marker = f'    return Service(\n        "{service}",\n'
    assert marker in text
    head, _, tail = text.partition(marker)
    start = tail.index("environment={") + len("environment={")
    end = tail.index("},\n", start)
    pairs = re.sub(rf'"{name}": "[^"]*", ', "", tail[start:end])
    stack.write_text(head + marker + tail[:start] + f'"{name}": "{value}", ' + pairs
                     + tail[end:])


def names(client: docker.DockerClient, copy: Copy) -> list[str]:
    return sorted(c["Names"][0].lstrip("/") for c in client.api.containers(
        all=True, filters={"label": f"pojemnik.project={copy.project}"}))


def env_of(client: docker.DockerClient, copy: Copy, service: str) -> list[str]:
    return list(client.api.inspect_container(f"{copy.project}-{service}")["Config"]["Env"])


def expected(copy: Copy) -> list[str]:
    return sorted(f"{copy.project}-{s}" for s in SERVICES)


@pytest.mark.parametrize(("service", "host"), [("app", "app.localhost"),
                                                ("php", "php.localhost")])
def test_an_env_change_is_deployed_without_a_failed_request(
        client: docker.DockerClient, rolling: Copy, service: str, host: str) -> None:
    before = client.api.inspect_container(f"{rolling.project}-{service}")["Id"]
    set_env(rolling, service, "ZD_TEST", f"{service}-1")
    with Requests(rolling, host, "database: ok") as requests:
        result = rolling.invoke("deploy")
    assert requests.failures == []
    assert "recreated 1" in result.stdout and "start-first" in result.stdout
    assert f"ZD_TEST={service}-1" in env_of(client, rolling, service)
    assert client.api.inspect_container(f"{rolling.project}-{service}")["Id"] != before
    assert names(client, rolling) == expected(rolling)  # no -next left
    assert "nothing to do" in rolling.invoke("deploy").stdout  # either address is as declared


def test_a_replacement_that_never_gets_ready_leaves_the_old_one_serving(
        client: docker.DockerClient, rolling: Copy) -> None:
    stack = rolling.root / "stack.py"
    good = stack.read_text()
    before = client.api.inspect_container(f"{rolling.project}-app")["Id"]
    set_env(rolling, "app", "ZD_TEST", "never-ready")
    text = stack.read_text().replace(
        '        limits=Limits(memory="192m", cpus=1.0, pids=100),\n',
        '        limits=Limits(memory="192m", cpus=1.0, pids=100),\n'
        '        healthcheck=Healthcheck(["sh", "-c", "echo not today; exit 1"]),\n'
        '        ready_timeout=5,\n', 1)
    stack.write_text(text.replace("    Bind,\n", "    Bind,\n    Healthcheck,\n", 1))
    try:
        with Requests(rolling, "app.localhost", "database: ok") as requests:
            result = rolling.invoke("deploy", check=False)
    finally:
        stack.write_text(good)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "did not become ready" in output and "not today" in output
    assert requests.failures == []
    assert client.api.inspect_container(f"{rolling.project}-app")["Id"] == before
    assert names(client, rolling) == expected(rolling)
    last = json.loads(rolling.invoke("history", "--json").stdout)["log"][-1]
    assert last["result"].startswith("refused: ") and last["done"] == []
    assert last["refused"]["by"].startswith(f"the readiness check of {rolling.project}-app-next")
    assert last["refused"]["kept"] == f"{rolling.project}-app (the old container)"
    shown = " ".join(rolling.invoke("history").stdout.split())
    assert "refused refused by the readiness check" in shown and "nothing was changed" in shown


def test_a_killed_update_is_finished_by_the_next_deploy(client: docker.DockerClient,
                                                        rolling: Copy) -> None:
    set_env(rolling, "app", "ZD_TEST", "after-kill")
    deploy = subprocess.Popen([*INVOKE, "deploy"], cwd=rolling.root, env=rolling.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while f"{rolling.project}-app-next" not in names(client, rolling):
            assert deploy.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(deploy.pid, signal.SIGKILL)
        deploy.wait()
    with Requests(rolling, "app.localhost", "database: ok") as requests:
        result = rolling.invoke("deploy")
    assert "interrupted update" in result.stdout
    assert requests.failures == []
    assert names(client, rolling) == expected(rolling)
    assert "ZD_TEST=after-kill" in env_of(client, rolling, "app")


def test_down_stops_in_reverse_order_one_wave_at_a_time(client: docker.DockerClient,
                                                        rolling: Copy) -> None:
    """Last in this module: it removes the copy's containers."""
    since = time.time() - 1
    result = rolling.invoke("down")
    events = client.api.events(since=since, until=time.time() + 1, decode=True,
                               filters={"event": ["kill", "die"],
                                        "label": f"pojemnik.project={rolling.project}"})
    lines = [line for line in result.stdout.splitlines() if "stopping" in line]
    project = rolling.project
    assert lines == [
        f"containers {project}-proxy: stopping (graceful), removing",
        f"containers {project}-app, {project}-php: stopping (graceful), removing",
        f"containers {project}-db: stopping (graceful), removing"]
    signals, codes, killed, died = {}, {}, {}, {}
    for event in events:
        if event["Actor"]["Attributes"].get("pojemnik.kind") == "lock":
            continue  # the lock `down` held, released (removed) at its end
        name = event["Actor"]["Attributes"]["name"].removeprefix(f"{project}-")
        if event["Action"] == "kill":
            signals.setdefault(name, event["Actor"]["Attributes"].get("signal"))
            killed.setdefault(name, event["timeNano"])
        else:
            codes[name] = event["Actor"]["Attributes"].get("exitCode")
            died[name] = event["timeNano"]
    # A wave is signalled only once every container of the wave before has exited (the
    # engine's own clean-up of those may still run): none serves a request any more.
    waves = [["proxy"], ["app", "php"], ["db"]]
    for before, after in itertools.pairwise(waves):
        assert min(killed[n] for n in after) >= max(died[n] for n in before), (killed, died)
    # Each stopped with its declared signal (nginx, php-fpm: QUIT; the app's init: TERM;
    # PostgreSQL: INT), and none had to be killed after its grace period.
    assert {k: SIGNALS.get(v, v) for k, v in signals.items()} == \
        {"proxy": "QUIT", "php": "QUIT", "app": "TERM", "db": "INT"}
    assert codes == {s: "0" for s in SERVICES}
    assert names(client, rolling) == []

