"""Three-way rows of the benchmark: pojemnik, the bash script, Compose.

- the bash script is `invoke plan --format bash` (made before the clock starts), run by
  bash: `docker run`-style lines that neither wait for anything nor update in place;
- Compose is `invoke export.compose` + `docker compose up -d --wait`.

Scenarios: from nothing (images present) until app.localhost first answers 200; an app
update (one env value changed) under a request every 20 ms: failed requests and the
longest time between two answers; teardown of the serving stack.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

Run = Callable[[list[str], Path, dict[str, str]], str]


class Requests(threading.Thread):
    """GET / with a Host header every 20 ms: failures (errors, non-200) and longest gap."""

    def __init__(self, port: int, host: str = "app.localhost") -> None:
        super().__init__(daemon=True)
        self.port, self.host = port, host
        self.stop = threading.Event()
        self.ok, self.failed, self.longest_gap = 0, 0, 0.0

    def get(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/", headers={"Host": self.host})
            response = conn.getresponse()
            response.read()
            return response.status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def run(self) -> None:
        last = time.monotonic()
        deadline = last + 300
        while not self.stop.is_set() and time.monotonic() < deadline:
            if self.get():
                self.ok += 1
                now = time.monotonic()
                self.longest_gap = max(self.longest_gap, now - last)
                last = now
            else:
                self.failed += 1
            time.sleep(0.02)

    def settle(self) -> None:
        """After the change: until 10 more answers came (bounded), then stop."""
        served, deadline = self.ok, time.monotonic() + 120
        while self.ok < served + 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.stop.set()
        self.join()


def until_200(port: int, host: str = "app.localhost", timeout: float = 300) -> None:
    probe, deadline = Requests(port, host), time.monotonic() + timeout
    while not probe.get():
        if time.monotonic() > deadline:
            raise SystemExit(f"{host} on {port} never answered 200")
        time.sleep(0.02)


def set_app_env(root: Path, value: str) -> None:
    """The app service's environment gets BENCH_ROUND=value (in the copy's stack.py)."""
    stack = root / "stack.py"
    text = stack.read_text()
    marker = '    return Service(\n        "app",\n'
    head, _, tail = text.partition(marker)
    opening = "environment={**DATABASE, "
    start = tail.index(opening) + len(opening)
    tail = re.sub(r'^"BENCH_ROUND": "[^"]*", ', "", tail[start:])
    stack.write_text(f'{head}{marker}{text[len(head) + len(marker):][:start]}'
                     f'"BENCH_ROUND": "{value}", {tail}')


def bash_teardown(project: str) -> None:
    """The article's way: `docker rm -f` of every container, then the networks."""
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=pojemnik.project={project}"],
                         capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=True)
    nets = subprocess.run(["docker", "network", "ls", "-q", "--filter",
                           f"label=pojemnik.project={project}"],
                          capture_output=True, text=True).stdout.split()
    if nets:
        subprocess.run(["docker", "network", "rm", *nets], capture_output=True, check=True)


def stop_all_teardown(project: str) -> None:
    """Every container stopped at once, each with its own stop signal and grace period
    (`docker stop` without `-t`, which stops its arguments in parallel), then `docker rm`
    of them all and `docker network rm`: the floor for a graceful teardown."""
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=pojemnik.project={project}"],
                         capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "stop", *ids], capture_output=True, check=True)
        subprocess.run(["docker", "rm", *ids], capture_output=True, check=True)
    nets = subprocess.run(["docker", "network", "ls", "-q", "--filter",
                           f"label=pojemnik.project={project}"],
                          capture_output=True, text=True).stdout.split()
    if nets:
        subprocess.run(["docker", "network", "rm", *nets], capture_output=True, check=True)


def under_load(port: int, action: Callable[[], object]) -> tuple[int, float]:
    requests = Requests(port)
    requests.start()
    while requests.ok < 10:
        time.sleep(0.02)
    action()
    requests.settle()
    return requests.failed, requests.longest_gap


def idle_gap(port: int, seconds: float) -> float:
    """The longest gap with nothing changing, for as long as an update took: the part of
    an update's gap that is the machine's own noise (a loaded, shared machine)."""
    requests = Requests(port)
    requests.start()
    time.sleep(seconds)
    requests.stop.set()
    requests.join()
    return requests.longest_gap
