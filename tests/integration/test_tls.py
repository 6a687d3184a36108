"""Real certificates against a real ACME CA: Debian's pebble, started here on the test
network's gateway, validating HTTP-01 through the example's own proxy."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from .conftest import Copy, copy_example, make_copy, remove_projects
from .pebble import Pebble, free_port

NAME = "shop.example.com"
SITE = f"""server {{
    listen 8080;
    listen 8443 ssl http2;
    server_name {NAME};
    include /etc/nginx/acme-challenge.conf;
    location / {{ default_type text/plain; return 200 "shop\\n"; }}
}}
"""


@dataclass
class Setup:
    copy: Copy
    pebble: Pebble
    env: dict[str, str]  # the ACME settings
    root: Path  # pebble's root CA, saved while it runs

    def invoke(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.copy.invoke(*args, check=check, extra_env=self.env)

    def curl(self) -> subprocess.CompletedProcess[str]:
        port = self.copy.https_port
        return subprocess.run(
            ["curl", "-sS", "--max-time", "10", "--cacert", str(self.root), "--resolve",
             f"{NAME}:{port}:127.0.0.1", f"https://{NAME}:{port}/"],
            capture_output=True, text=True)

    def status(self) -> dict[str, object]:
        rows = json.loads(self.invoke("tls.status", "--json").stdout)
        return next(r for r in rows if r["name"] == NAME)


@pytest.fixture(scope="module")
def setup(client: docker.DockerClient, stale_cleaned: None,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = copy_example(tmp_path_factory.mktemp("tls"))
    (root / "config" / "nginx" / "sites" / "shop.conf").write_text(SITE)
    copy = make_copy(client, root)
    copy.invoke("deploy")  # offline first: the self-signed certificate, the networks
    subnet = ipaddress.ip_network(copy.services)
    gateway, proxy = str(subnet.network_address + 1), str(subnet.network_address + 3)
    pebble = Pebble(gateway, free_port(gateway), free_port(gateway), free_port(gateway),
                    tmp_path_factory.mktemp("pebble"), answer=proxy)
    pebble.start()
    ca_root = pebble.workdir / "root.pem"
    ca_root.write_text(pebble.root())
    env = {"ACME_EMAIL": "admin@example.com", "ACME_NAMES": NAME,
           "ACME_DIRECTORY": pebble.directory,
           "ACME_CA_CERTIFICATES": str(pebble.listener_cert)}
    try:
        yield Setup(copy, pebble, env, ca_root)
    finally:
        pebble.stop()
        remove_projects(client, copy.project)


def test_a_declared_name_gets_a_certificate_the_ca_signed(setup: Setup) -> None:
    assert setup.curl().returncode != 0  # self-signed: not verified by pebble's root
    deployed = setup.invoke("deploy")
    assert "installed and served" in deployed.stdout, deployed.stdout
    answer = setup.curl()
    assert answer.returncode == 0 and answer.stdout == "shop\n", answer.stderr
    assert setup.pebble.orders() == 1
    row = setup.status()
    assert "Pebble" in str(row["issuer"]) and row["result"] == "ok" and row["error"] is None


def test_a_redeploy_and_down_then_deploy_order_nothing(setup: Setup) -> None:
    serial = setup.status()["serial"]
    again = setup.invoke("deploy")
    assert "nothing ordered" in again.stdout, again.stdout
    setup.invoke("down")
    setup.invoke("deploy")
    assert setup.pebble.orders() == 1
    assert setup.status()["serial"] == serial and setup.curl().returncode == 0


def test_renewal_under_requests_every_20ms_fails_none(setup: Setup) -> None:
    before = setup.status()["serial"]
    failures: list[str] = []
    done = threading.Event()

    def load() -> None:
        while not done.wait(0.02):
            answer = setup.curl()
            if answer.returncode != 0 or answer.stdout != "shop\n":
                failures.append(answer.stderr or answer.stdout)

    requests = threading.Thread(target=load)
    requests.start()
    try:
        renewed = setup.invoke("tls.renew", "--force")
    finally:
        done.set()
        requests.join()
    assert "installed and served" in renewed.stdout, renewed.stdout
    assert failures == []
    assert setup.status()["serial"] != before and setup.pebble.orders() == 2


def test_the_private_key_is_in_no_log_inspect_or_image_history(
        setup: Setup, client: docker.DockerClient) -> None:
    proxy = f"{setup.copy.project}-proxy"
    key = subprocess.run(["docker", "exec", proxy, "cat", "/var/lib/proxy-tls/tls.key"],
                         capture_output=True, text=True, check=True).stdout
    mode = subprocess.run(["docker", "exec", proxy, "stat", "-c", "%a",
                           "/var/lib/proxy-tls/tls.key"], capture_output=True, text=True)
    assert mode.stdout.strip() == "600"
    body = "".join(line for line in key.splitlines() if not line.startswith("-----"))
    assert len(body) > 40
    ours = {"label": f"pojemnik.project={setup.copy.project}"}
    seen = [subprocess.run(["docker", "inspect", c.id], capture_output=True, text=True).stdout
            + c.logs().decode(errors="replace")
            for c in client.containers.list(all=True, filters=ours)]
    image = f"{setup.copy.project}/acme:latest"
    seen.append(subprocess.run(["docker", "history", "--no-trunc", image],
                               capture_output=True, text=True).stdout)
    seen.append(setup.invoke("tls.status").stdout)
    assert all(body[:40] not in text for text in seen)
    account = client.volumes.get(f"{setup.copy.project}-acme")  # removed with the project
    assert account.attrs["Labels"]["pojemnik.project"] == setup.copy.project


def test_with_the_ca_stopped_deploy_succeeds_and_the_old_certificate_stays(
        setup: Setup) -> None:
    serial = setup.status()["serial"]
    setup.pebble.stop()
    renewed = setup.invoke("tls.renew", "--force", check=False)
    assert renewed.returncode != 0 and "no new certificate" in renewed.stdout
    setup.invoke("deploy")  # a valid certificate is installed: nothing to order
    row = setup.status()
    assert row["serial"] == serial and setup.curl().returncode == 0
    assert row["result"] == "failed" and row["error"], row
