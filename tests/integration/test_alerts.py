"""`invoke alerts.test` through real channels (issue 21 item 2, in part): a real SMTP server
(aiosmtpd, STARTTLS with a certificate made for the test, login required) and a real HTTP
receiver on 127.0.0.1. Each channel says whether it worked; a refused login and a webhook
answering 500 fail clearly (the webhook retried, bounded); the password is never printed."""

from __future__ import annotations

import json
import secrets
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from .conftest import INVOKE, REPO, free_port

pytestmark = pytest.mark.integration

USER, PASSWORD = "alerts@example.org", f"pw-{secrets.token_hex(8)}"

STACK = '''from pathlib import Path

from pojemnik import Alerts, Network, Service, Settings, Stack


def declare(settings: Settings) -> Stack:
    to = settings["ALERT_EMAIL_TO"]
    return Stack(
        project=settings["POJEMNIK_PROJECT"], root=Path(__file__).parent,
        networks=[Network("net", subnet="10.0.32.0/24")],
        services=[Service("web", image="debian:bookworm-slim", networks={"net": 3})],
        alerts=Alerts(email_to=[to] if to else [], smtp_host=settings["ALERT_SMTP_HOST"],
                      smtp_port=settings.int("ALERT_SMTP_PORT"),
                      smtp_user=settings["ALERT_SMTP_USER"],
                      smtp_password=settings["ALERT_SMTP_PASSWORD"],
                      smtp_ca=settings["ALERT_SMTP_CA"], webhook=settings["ALERT_WEBHOOK"]))
'''


@dataclass
class Mailbox:
    messages: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and \
        (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535


def smtp_server(folder: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    """A real SMTP server on 127.0.0.1: STARTTLS with a certificate made here, login
    required (USER, PASSWORD)."""
    cert, key = folder / "smtp.crt", folder / "smtp.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox, port = Mailbox(), free_port()
    server = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context,
                        require_starttls=True, auth_required=True, auth_require_tls=True,
                        authenticator=authenticate)
    server.start()
    try:
        yield mailbox, port, cert
    finally:
        server.stop()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    yield from smtp_server(tmp_path)


class Receiver(ThreadingHTTPServer):
    def __init__(self, failures: int) -> None:
        super().__init__(("127.0.0.1", 0), Hook)
        self.failures, self.bodies = failures, []  # answers 500 this many times first


class Hook(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(json.loads(body))
        failing = self.server.failures > 0
        self.server.failures -= 1
        self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def receiver(failures: int = 0) -> Iterator[Receiver]:
    server = Receiver(failures)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def project(root: Path, smtp_port: int, cert: Path, webhook: int, password: str = PASSWORD
            ) -> Path:
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    (root / "stack.py").write_text(STACK)
    (root / ".env.example").write_text(
        f"POJEMNIK_PROJECT=pjtest-{secrets.token_hex(3)}\nALERT_EMAIL_TO=admin@example.org\n"
        f"ALERT_SMTP_HOST=127.0.0.1\nALERT_SMTP_PORT={smtp_port}\nALERT_SMTP_USER={USER}\n"
        f"ALERT_SMTP_PASSWORD={password}\nALERT_SMTP_CA={cert}\n"
        f"ALERT_WEBHOOK=http://127.0.0.1:{webhook}/hook/token123\n")
    return root


def alerts_test(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*INVOKE, "alerts.test"], cwd=root, text=True, capture_output=True,
                          timeout=300)


def test_a_test_message_goes_through_both_channels(
        tmp_path: Path, smtp: tuple[Mailbox, int, Path]) -> None:
    mailbox, port, cert = smtp
    for hook in receiver():
        result = alerts_test(project(tmp_path, port, cert, hook.server_address[1]))
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert f"email to admin@example.org via 127.0.0.1:{port}: sent" in output
        assert f"webhook http://127.0.0.1:{hook.server_address[1]}: sent" in output
        assert PASSWORD not in output and "token123" not in output
        (body,) = hook.bodies
        assert body["state"] == "test" and body["text"] == body["content"] == body["message"]
        assert body["title"].endswith("TEST: test message")
    (mail,) = [message_from_bytes(m) for m in mailbox.messages]
    assert mail["To"] == "admin@example.org" and mail["From"] == USER
    assert "TEST: test message" in mail["Subject"]


def test_a_refused_login_and_a_failing_webhook_fail_clearly(
        tmp_path: Path, smtp: tuple[Mailbox, int, Path]) -> None:
    mailbox, port, cert = smtp
    for hook in receiver(failures=99):
        root = project(tmp_path, port, cert, hook.server_address[1], password="wrong-one")
        result = alerts_test(root)
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert f"refused the login of '{USER}'" in output
        assert "the receiver answered 500" in output and "tried 3 time(s)" in output
        assert "2 of 2 channel(s) failed" in output
        assert "wrong-one" not in output
        assert len(hook.bodies) == 3  # retried, bounded
    assert mailbox.messages == []


def test_a_webhook_that_fails_once_is_retried(tmp_path: Path,
                                              smtp: tuple[Mailbox, int, Path]) -> None:
    _, port, cert = smtp
    for hook in receiver(failures=1):
        result = alerts_test(project(tmp_path, port, cert, hook.server_address[1]))
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(hook.bodies) == 2
