"""The server's own renewal, run by the agent as its timer would (`python3 -m
pojemnik.agent ... run tls-renew`) against the real engine and Debian's pebble, started
here: nothing ordered while the certificate is valid, a renewal under a request every
20 ms with none failed, and the faults (a name pointing elsewhere, a refused challenge)
leaving the served certificate, the deploy succeeding and `tls.status` saying what to do."""

from __future__ import annotations

import http.server
import ipaddress
import json
import ssl
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from pojemnik.declaration.loader import load_with_settings
from pojemnik.declaration.model import Stack
from pojemnik.engine.docker_engine import DockerEngine
from pojemnik.operations.server.agent import agent_config
from pojemnik.operations.tls.renewal import TASK
from pojemnik.operations.tls.status import read, summary

from .conftest import Copy, copy_example, make_copy, remove_projects
from .pebble import Pebble, free_port
from .test_tls import NAME, SITE

pytestmark = pytest.mark.integration
AGENT = [sys.executable, "-m", "pojemnik.agent"]
RENEW_NOW = {"ACME_RENEW_DAYS": "3650"}  # more than pebble's certificates live: renew


@dataclass
class Setup:
    copy: Copy
    pebble: Pebble
    env: dict[str, str]  # the ACME settings
    root: Path  # pebble's root CA
    gateway: str
    work: Path

    def invoke(self, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
        return self.copy.invoke(*args, extra_env={**self.env, **settings})

    def agent(self, state: str, **settings: str) -> subprocess.CompletedProcess[str]:
        """One run of the task, as the server's timer starts it (its config written from
        the declaration with these settings, its records in `state`)."""
        config = self.work / f"{state}.json"
        config.write_text(json.dumps(agent_config(self.stack(**settings))))
        return subprocess.run([*AGENT, "--config", str(config), "--state",
                               str(self.work / state), "run", TASK],
                              capture_output=True, text=True, timeout=1200)

    def stack(self, **settings: str) -> Stack:
        environ = {**self.copy.env, **self.env, **settings}
        stack, problems, _ = load_with_settings(self.copy.root, environ=environ)
        assert problems == []
        return stack

    def server_status(self, state: str) -> tuple[dict[str, Any], list[str]]:
        """What `tls.status` shows with this run's record (as `agent.records` reads it on
        the host): the row for the name, and the lines under the table."""
        client = docker.from_env()
        try:
            rows = read(self.stack(), DockerEngine(client), self.record(state))
        finally:
            client.close()
        return next(r for r in rows if r["name"] == NAME), summary(rows)

    def record(self, state: str) -> dict[str, Any]:
        found = json.loads((self.work / state / "runs" / f"{TASK}.json").read_text())
        assert isinstance(found, dict)
        return found

    def curl(self) -> subprocess.CompletedProcess[str]:
        port = self.copy.https_port
        return subprocess.run(
            ["curl", "-sS", "--max-time", "10", "--cacert", str(self.root), "--resolve",
             f"{NAME}:{port}:127.0.0.1", f"https://{NAME}:{port}/"],
            capture_output=True, text=True)

    def served_serial(self) -> str:
        port = self.copy.https_port
        shown = subprocess.run(
            f"echo | openssl s_client -connect 127.0.0.1:{port} -servername {NAME} "
            "2>/dev/null | openssl x509 -noout -serial", shell=True, capture_output=True,
            text=True)
        return shown.stdout.strip().partition("=")[2]

    def status(self) -> dict[str, Any]:
        rows = json.loads(self.invoke("tls.status", "--json").stdout)
        return next(r for r in rows if r["name"] == NAME)


@pytest.fixture(scope="module")
def setup(client: docker.DockerClient, stale_cleaned: None,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = copy_example(tmp_path_factory.mktemp("renewal"))
    (root / "config" / "nginx" / "sites" / "shop.conf").write_text(SITE)
    copy = make_copy(client, root)
    copy.invoke("deploy")  # offline first: the networks
    subnet = ipaddress.ip_network(copy.services)
    gateway, proxy = str(subnet.network_address + 1), str(subnet.network_address + 3)
    work = tmp_path_factory.mktemp("pebble")
    pebble = Pebble(gateway, free_port(gateway), free_port(gateway), free_port(gateway),
                    work, answer=proxy)
    pebble.start()
    ca_root = work / "root.pem"
    ca_root.write_text(pebble.root())
    env = {"ACME_EMAIL": "admin@example.com", "ACME_NAMES": NAME,
           "ACME_DIRECTORY": pebble.directory,
           "ACME_CA_CERTIFICATES": str(pebble.listener_cert)}
    setup = Setup(copy, pebble, env, ca_root, gateway, work)
    try:
        first = setup.invoke("deploy")
        assert "installed and served" in first.stdout, first.stdout
        yield setup
    finally:
        pebble.stop()
        remove_projects(client, copy.project)


def test_a_daily_run_with_a_valid_certificate_orders_nothing(setup: Setup) -> None:
    orders, serial = setup.pebble.orders(), setup.served_serial()
    run = setup.agent("valid")
    assert run.returncode == 0, run.stdout + run.stderr
    record = setup.record("valid")
    assert record["ok"] is True and "nothing to renew" in str(record["output"])
    assert f"served for {NAME}" in str(record["output"])  # the served check ran, and agreed
    assert setup.pebble.orders() == orders and setup.served_serial() == serial


def test_the_agent_renews_under_requests_every_20ms_and_none_fails(setup: Setup) -> None:
    orders, before = setup.pebble.orders(), setup.served_serial()
    failures: list[str] = []
    requests = 0
    done = threading.Event()

    def load() -> None:
        nonlocal requests
        while not done.wait(0.02):
            answer = setup.curl()
            requests += 1
            if answer.returncode != 0 or answer.stdout != "shop\n":
                failures.append(answer.stderr or answer.stdout)

    loader = threading.Thread(target=load)
    loader.start()
    try:
        run = setup.agent("renew", **RENEW_NOW)
    finally:
        done.set()
        loader.join()
    assert run.returncode == 0, run.stdout + run.stderr
    assert requests > 10 and failures == []
    after = setup.served_serial()
    assert after and after != before and setup.pebble.orders() == orders + 1
    output = str(setup.record("renew")["output"])
    assert "Trying renewal" in output  # lego renew --days, not a new order
    assert "reloaded with the new certificate" in output and f"certificate {after}" in output
    row, lines = setup.server_status("renew")
    assert row["by"] == "server" and row["result"] == "ok" and row["serial"] == after
    assert "the server's daily renewal: last run" in lines[0] and ": ok" in lines[0]
    # The next day's run, with the usual 30 days: nothing to order.
    again = setup.agent("renew")
    assert again.returncode == 0 and setup.pebble.orders() == orders + 1


def test_a_name_pointing_elsewhere_keeps_the_served_certificate(setup: Setup) -> None:
    serial = setup.served_serial()
    setup.pebble.point(NAME, setup.gateway)  # not the proxy: nothing answers there on 8080
    try:
        run = setup.agent("elsewhere", **RENEW_NOW)
        deployed = setup.invoke("deploy", **RENEW_NOW)  # orders, fails, says so, succeeds
    finally:
        setup.pebble.point(NAME, None)
    assert run.returncode != 0
    record = setup.record("elsewhere")
    assert record["ok"] is False and record["failures"] == 1 and record["next_after"]
    assert "acme:error:connection" in str(record["output"]), record["output"]
    assert "WARNING: no new certificate" in deployed.stdout, deployed.stdout
    assert setup.served_serial() == serial and setup.curl().returncode == 0
    row = setup.status()  # the deploy's attempt (the later one)
    assert row["by"] == "deploy" and row["result"] == "failed", row
    assert "connection" in str(row["error"]) and "DNS" in str(row["advice"]), row
    served, lines = setup.server_status("elsewhere")
    assert served["renewal"]["result"] == "failed" and "connection" in served["renewal"]["error"]
    assert "1 failed in a row, next try after" in lines[0], lines
    assert lines[-1].startswith("tls: what to do:") and "DNS" in lines[-1], lines
    backing_off = setup.agent("elsewhere", **RENEW_NOW)  # at once: the backoff holds it
    assert backing_off.returncode == 0 and "backing off until" in backing_off.stderr
    assert setup.record("elsewhere")["started"] == record["started"]


class NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


def test_a_refused_challenge_keeps_the_served_certificate(setup: Setup) -> None:
    serial = setup.served_serial()
    server = http.server.ThreadingHTTPServer((setup.gateway, 8080), NotFound)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    setup.pebble.point(NAME, setup.gateway)  # a web server that knows no token
    try:
        run = setup.agent("refused", **RENEW_NOW)
    finally:
        setup.pebble.point(NAME, None)
        server.shutdown()
        thread.join()
        server.server_close()
    assert run.returncode != 0
    record = setup.record("refused")
    assert record["ok"] is False and "acme:error:unauthorized" in str(record["output"]), \
        record["output"]
    assert setup.served_serial() == serial and setup.curl().returncode == 0


class RateLimitingFront(http.server.BaseHTTPRequestHandler):
    """In front of pebble (which has no rate limits): its directory, with new orders
    refused as Let's Encrypt refuses them (429, `rateLimited`, Retry-After)."""

    pebble: Pebble
    front: str

    def do_GET(self) -> None:
        context = ssl.create_default_context(cafile=str(self.pebble.listener_cert))
        with urllib.request.urlopen(self.pebble.directory, context=context) as answer:
            directory = json.loads(answer.read())
        directory["newOrder"] = f"{self.front}/new-order"
        self._send(200, "application/json", directory)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(429, "application/problem+json", {
            "type": "urn:ietf:params:acme:error:rateLimited", "status": 429,
            "detail": "too many certificates (5) already issued for this exact set of "
                      "domains in the last 168 hours"}, {"Retry-After": "3600"})

    def _send(self, code: int, kind: str, body: object,
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        for key, value in {"Content-Type": kind, "Content-Length": str(len(data)),
                           **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_rate_limited_keeps_the_served_certificate_and_says_so(setup: Setup) -> None:
    serial, orders = setup.served_serial(), setup.pebble.orders()
    port = free_port(setup.gateway)
    front = f"https://{setup.gateway}:{port}"
    handler = type("Front", (RateLimitingFront,), {"pebble": setup.pebble, "front": front})
    server = http.server.ThreadingHTTPServer((setup.gateway, port), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(setup.pebble.listener_cert,
                            setup.pebble.workdir / "pebble-listener.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        run = setup.agent("limited", ACME_DIRECTORY=f"{front}/dir", **RENEW_NOW)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert run.returncode != 0
    record = setup.record("limited")
    assert "acme:error:rateLimited" in str(record["output"]), record["output"]
    assert setup.pebble.orders() == orders  # refused before pebble saw an order
    assert setup.served_serial() == serial and setup.curl().returncode == 0
