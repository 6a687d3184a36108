"""The server's own checks (issue 21 items 1 and 2): the agent's `check` run as its timer
runs it (`python3 -m pojemnik.agent check`, the server's python3, the config made from
the declaration by the installer) against the real engine, a real SMTP server (aiosmtpd,
STARTTLS, login) and a real HTTP receiver on 127.0.0.1.

A container made unhealthy opens one incident: exactly one email and one webhook; its
recovery sends one resolve message each; a flapping container sends one "flapping"
message, not one per change; SMTP unreachable keeps the incident's message due and sends
it once the server is back; a webhook answering 500 is retried, bounded; a disk threshold
just below the current use alerts; the proxy's certificate expiring within 14 days alerts;
a site that stops answering through the proxy alerts. The agent's memory is measured."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import docker
import pytest

from pojemnik.declaration.loader import load_stack
from pojemnik.operations.server import _payload
from pojemnik.operations.server.agent import agent_config
from pojemnik.operations.upkeep import watch
from pojemnik.planning import alert_checks

from .conftest import INVOKE, REPO, free_port, free_subnets
from .test_alerts import PASSWORD, USER, Mailbox, Receiver, receiver, smtp_server

pytestmark = pytest.mark.integration

PERL_HTTP = ("$s=IO::Socket::INET->new(LocalPort=>8080,Listen=>5,ReuseAddr=>1) or die $!;"
             "while($c=$s->accept){while(<$c>){last if /^\\r?\\n$/}"
             "print $c \"HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok\";close $c}")

STACK = f'''from pathlib import Path

from pojemnik import (Acme, Alerts, Healthcheck, Network, Port, Service, Settings, Stack,
                      Tmpfs, VolumeMount, Volume)


def declare(settings: Settings) -> Stack:
    net = "net"
    return Stack(
        project=settings["POJEMNIK_PROJECT"], root=Path(__file__).parent,
        networks=[Network(net, subnet=settings["SUBNET"])],
        volumes=[Volume("proxy-tls")],
        services=[
            Service("proxy", image="debian:bookworm-slim", networks={{net: 2}},
                    ports=[Port(settings.int("HTTP_PORT"), 8080)],
                    command=["perl", "-MIO::Socket::INET", "-e", {PERL_HTTP!r}],
                    mounts=[VolumeMount("proxy-tls", "/var/lib/proxy-tls")]),
            Service("web", image="debian:bookworm-slim", networks={{net: 3}},
                    command=["sh", "-c", "touch /tmp/ok; exec sleep infinity"],
                    mounts=[Tmpfs("/tmp")], heal_after=None,
                    healthcheck=Healthcheck(["test", "-f", "/tmp/ok"], interval=1.0,
                                            timeout=2.0, retries=1, start_period=0.0)),
        ],
        tls=Acme(names=["site.test"]),
        alerts=Alerts(email_to=["admin@example.org"], smtp_host="127.0.0.1",
                      smtp_port=settings.int("ALERT_SMTP_PORT"),
                      smtp_user=settings["ALERT_SMTP_USER"],
                      smtp_password=settings["ALERT_SMTP_PASSWORD"],
                      smtp_ca=settings["ALERT_SMTP_CA"], webhook=settings["ALERT_WEBHOOK"],
                      every="every 1m"))
'''


class Deployed:
    def __init__(self, root: Path, project: str, hook: Receiver, mailbox: Mailbox,
                 smtp_port: int) -> None:
        self.root, self.project, self.hook, self.mailbox = root, project, hook, mailbox
        self.smtp_port = smtp_port
        stack, problems = load_stack(root)
        assert problems == [], problems
        self.stack = stack

    def config(self, where: Path, **checks: Any) -> Path:
        """The agent's config as the host side writes it, its secret files 0600 in
        `where`; `checks` overrides keys of "checks" (a test's own thresholds)."""
        place = alert_checks.Where(str(where))
        for path, content in alert_checks.secret_files(self.stack, place).items():
            Path(path).write_text(content)
            os.chmod(path, 0o600)
        config = {**agent_config(self.stack), **alert_checks.config(self.stack, place)}
        config["channels"]["webhook"]["backoff"] = 0.2  # the test's own, not 2 s
        config["checks"].update(checks)
        path = where / "agent.json"
        path.write_text(json.dumps(config))
        return path

    def check(self, config: Path, state: Path) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([PYTHON, "-m", "pojemnik.agent", "--config", str(config),
                                 "--state", str(state), "check"],
                                cwd=REPO, text=True, capture_output=True, timeout=300)
        assert result.returncode in (0, 1), result.stdout + result.stderr
        assert PASSWORD not in result.stdout + result.stderr
        assert "token123" not in result.stdout + result.stderr
        return result

    def mails(self) -> list[str]:
        return [str(make_header(decode_header(message_from_bytes(m)["Subject"])))
                for m in self.mailbox.messages]

    def hooks(self) -> list[str]:
        return [str(body["title"]) for body in self.hook.bodies]


PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


@pytest.fixture(scope="module")
def deployed(client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory,
             stale_cleaned: None) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("server-alerts")
    project = f"pjtest-{secrets.token_hex(3)}"
    smtp_dir = tmp_path_factory.mktemp("smtp")
    for mailbox, smtp_port, cert in smtp_server(smtp_dir):
        for hook in receiver():
            (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
            (root / "stack.py").write_text(STACK)
            (root / ".env.example").write_text(
                f"POJEMNIK_PROJECT={project}\nSUBNET={free_subnets(client, 1)[0]}\n"
                f"HTTP_PORT={free_port()}\nALERT_SMTP_PORT={smtp_port}\n"
                f"ALERT_SMTP_USER={USER}\nALERT_SMTP_PASSWORD={PASSWORD}\n"
                f"ALERT_SMTP_CA={cert}\n"
                f"ALERT_WEBHOOK=http://127.0.0.1:{hook.server_address[1]}/hook/token123\n")
            deploy = subprocess.run([*INVOKE, "deploy"], cwd=root, text=True,
                                    capture_output=True, timeout=900)
            try:
                assert deploy.returncode == 0, deploy.stdout + deploy.stderr
                yield Deployed(root, project, hook, mailbox, smtp_port)
            finally:
                subprocess.run([*INVOKE, "down", "--volumes"], cwd=root, capture_output=True,
                               timeout=600)
                for row in client.api.containers(
                        all=True, filters={"label": f"pojemnik.project={project}"}):
                    client.api.remove_container(row["Id"], force=True)


def health(client: docker.DockerClient, container: str, wanted: str) -> None:
    """Wait until Docker says the container is `wanted` (its check runs every second)."""
    for _ in range(120):
        state = client.api.inspect_container(container)["State"]
        if (state.get("Health") or {}).get("Status") == wanted:
            return
        time.sleep(0.5)
    raise AssertionError(f"{container} never became {wanted}")


def make_sick(client: docker.DockerClient, container: str, sick: bool) -> None:
    command = ["rm", "-f", "/tmp/ok"] if sick else ["touch", "/tmp/ok"]
    client.api.exec_start(client.api.exec_create(container, command)["Id"])
    health(client, container, "unhealthy" if sick else "healthy")


QUIET = {"disk": {"percent": 100, "paths": ["/"]}, "certificate": None}  # only the containers


def clear(deployed: Deployed) -> None:
    deployed.mailbox.messages.clear()
    deployed.hook.bodies.clear()


def incidents(config: Path, state: Path) -> list[dict[str, Any]]:
    result = subprocess.run([PYTHON, "-m", "pojemnik.agent", "--config", str(config),
                             "--state", str(state), "incidents", "--json"], cwd=REPO,
                            text=True, capture_output=True, timeout=60, check=True)
    return list(json.loads(result.stdout))


def test_an_unhealthy_container_opens_one_incident_and_its_recovery_resolves_it(
        deployed: Deployed, client: docker.DockerClient, tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    config = deployed.config(tmp_path, **QUIET)
    state = Path(watch.state_dir(deployed.project))  # where `status` reads it
    shutil.rmtree(state.parent, ignore_errors=True)
    request.addfinalizer(lambda: shutil.rmtree(state.parent, ignore_errors=True))
    web, p = f"{deployed.project}-web", deployed.project
    clear(deployed)
    passing = deployed.check(config, state)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    # the engine, the disk, the site, each container and its memory, the host's memory
    assert "alerts: 8 checks, 0 failing" in passing.stdout, passing.stdout
    make_sick(client, web, True)
    try:
        assert "failing: container web" in deployed.check(config, state).stdout
        assert deployed.mails() == deployed.hooks() == []  # one failing run opens nothing
        for _ in range(3):
            deployed.check(config, state)
        assert deployed.mails() == deployed.hooks() == [f"[{p}] PROBLEM: container web"]
        body = deployed.hook.bodies[0]
        assert body["state"] == "open" and "is unhealthy" in body["detail"]
        (incident,) = incidents(config, state)
        assert incident["check"] == "container web" and "unhealthy" in incident["detail"]
        status = subprocess.run([*INVOKE, "status"], cwd=deployed.root, text=True,
                                capture_output=True, timeout=300)
        assert "alerts: 1 open incident(s)" in status.stdout, status.stdout + status.stderr
        assert "container web: since" in status.stdout
    finally:
        make_sick(client, web, False)
    for _ in range(3):
        deployed.check(config, state)
    assert deployed.mails() == deployed.hooks() == [f"[{p}] PROBLEM: container web",
                                                    f"[{p}] RESOLVED: container web"]
    assert incidents(config, state) == []
    assert PASSWORD not in (state / "alerts.json").read_text() + config.read_text()
    assert "token123" not in config.read_text()


def test_a_flapping_container_does_not_flood(deployed: Deployed, client: docker.DockerClient,
                                             tmp_path: Path) -> None:
    config, state = deployed.config(tmp_path, **QUIET), tmp_path / "state"
    web = f"{deployed.project}-web"
    clear(deployed)
    try:
        for run in range(12):
            make_sick(client, web, run % 2 == 0)  # sick, well, sick, ...: 11 changes
            deployed.check(config, state)
    finally:
        make_sick(client, web, False)
    flapping = [f"[{deployed.project}] FLAPPING: container web"]
    assert deployed.mails() == deployed.hooks() == flapping


def test_an_unreachable_smtp_server_and_a_failing_webhook_keep_the_message_due(
        deployed: Deployed, client: docker.DockerClient, tmp_path: Path) -> None:
    good = json.loads(deployed.config(tmp_path, **QUIET).read_text())
    bad = json.loads(json.dumps(good))
    bad["channels"]["email"]["port"] = free_port()  # nothing listens there
    web, state = f"{deployed.project}-web", tmp_path / "state"
    clear(deployed)
    for failing in receiver(failures=99):
        Path(good["channels"]["webhook"]["url_file"]).write_text(
            f"http://127.0.0.1:{failing.server_address[1]}/hook/token123")
        config = tmp_path / "bad.json"
        config.write_text(json.dumps(bad))
        make_sick(client, web, True)
        try:
            deployed.check(config, state)
            output = deployed.check(config, state).stdout
            assert "NOT SENT: open container web via email" in output, output
            assert "ConnectionRefusedError" in output and "kept, tried again" in output
            assert "the receiver answered 500" in output and "tried 3 time(s)" in output
            assert len(failing.bodies) == 3  # retried, bounded
            assert deployed.check(config, state).returncode == 1  # still due, tried again
            assert len(failing.bodies) == 6
            assert deployed.mailbox.messages == []
            Path(good["channels"]["webhook"]["url_file"]).write_text(
                f"http://127.0.0.1:{deployed.hook.server_address[1]}/hook/token123")
            config.write_text(json.dumps(good))
            deployed.check(config, state)  # both back: the message goes, once
            deployed.check(config, state)
        finally:
            make_sick(client, web, False)
    assert deployed.mails() == deployed.hooks() == [
        f"[{deployed.project}] PROBLEM: container web"]


def test_a_disk_over_its_threshold_and_memory_over_its_budget_alert(
        deployed: Deployed, tmp_path: Path) -> None:
    used = shutil.disk_usage("/")
    percent = 100 * used.used / (used.used + used.free)
    declared = json.loads(deployed.config(tmp_path).read_text())["checks"]["memory"]
    config = deployed.config(tmp_path, open_after=1, certificate=None,
                             disk={"percent": max(0.1, percent - 1), "paths": ["/"]},
                             memory={**declared, "percent": 0.0001})
    clear(deployed)
    output = deployed.check(config, tmp_path / "state").stdout
    assert "failing: disk /: the disk holding /" in output, output
    assert "failing: memory web" in output and "failing: memory proxy" in output
    p = deployed.project
    assert {f"[{p}] PROBLEM: disk /", f"[{p}] PROBLEM: memory web"} <= set(deployed.mails())
    (tmp_path / "quiet").mkdir()
    quiet = deployed.config(tmp_path / "quiet", open_after=1, certificate=None,
                            disk={"percent": min(100, percent + 1), "paths": ["/"]})
    assert "failing: disk" not in deployed.check(quiet, tmp_path / "state2").stdout


def certificate(tmp_path: Path, days: int) -> bytes:
    key, cert = tmp_path / f"{days}.key", tmp_path / f"{days}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                    str(days), "-subj", "/CN=site.test", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True)
    return cert.read_bytes()


def install_certificate(client: docker.DockerClient, proxy: str, pem: bytes) -> None:
    """Where the TLS capability installs it: tls.crt in the proxy's certificate volume."""
    import io
    import tarfile

    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        entry = tarfile.TarInfo("tls.crt")
        entry.size = len(pem)
        archive.addfile(entry, io.BytesIO(pem))
    assert client.api.put_archive(proxy, "/var/lib/proxy-tls", data.getvalue())


def test_a_certificate_expiring_within_14_days_alerts(
        deployed: Deployed, client: docker.DockerClient, tmp_path: Path) -> None:
    proxy = f"{deployed.project}-proxy"
    config = deployed.config(tmp_path, open_after=1, disk={"percent": 100})
    install_certificate(client, proxy, certificate(tmp_path, 5))
    output = deployed.check(config, tmp_path / "state").stdout
    assert "failing: certificate: the proxy's certificate expires in 5.0 days" in output, output
    install_certificate(client, proxy, certificate(tmp_path, 60))
    assert "failing: certificate" not in deployed.check(config, tmp_path / "state").stdout


def test_a_site_that_stops_answering_through_the_proxy_alerts(
        deployed: Deployed, client: docker.DockerClient, tmp_path: Path) -> None:
    proxy = f"{deployed.project}-proxy"
    config = deployed.config(tmp_path, open_after=1, **QUIET)
    clear(deployed)
    client.api.stop(proxy, timeout=1)
    try:
        output = deployed.check(config, tmp_path / "state").stdout
    finally:
        client.api.start(proxy)
    assert "failing: site site.test: site.test did not answer through the proxy" in output
    assert "failing: container proxy" in output and "is exited" in output
    assert f"[{deployed.project}] PROBLEM: site site.test" in deployed.mails()


def test_the_agent_stays_within_20_mib_while_it_sends(
        deployed: Deployed, client: docker.DockerClient, tmp_path: Path) -> None:
    """As the server runs it: the installer's zipapp (the agent's files alone) with
    Debian's python3; ru_maxrss of the largest of its processes (the check, and the
    sender it starts, which sends an email over STARTTLS and a webhook)."""
    app = tmp_path / "pojemnik-agent.pyz"
    app.write_bytes(_payload.zipapp())  # what agent.install writes on the server
    config = deployed.config(tmp_path, open_after=1, **QUIET)
    web = f"{deployed.project}-web"
    clear(deployed)
    measure = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    make_sick(client, web, True)
    try:
        result = subprocess.run([PYTHON, "-c", measure, PYTHON, str(app), "--config",
                                 str(config), "--state", str(tmp_path / "state"), "check"],
                                text=True, capture_output=True, timeout=300, check=True)
    finally:
        make_sick(client, web, False)
    assert len(deployed.mails()) == len(deployed.hooks()) == 1  # it did send
    kib = int(result.stdout.splitlines()[-1])
    print(f"agent check run that sent an email and a webhook: max RSS {kib / 1024:.1f} MiB "
          f"(the largest of its processes)")
    assert kib <= 20 * 1024, f"{kib} KiB"
