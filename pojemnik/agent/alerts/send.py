"""Sending an alert through each channel: email (SMTP, STARTTLS, login) and a webhook
(POST of JSON). Used by the agent on the server and by `invoke alerts.test` alike. Each
send is bounded: a timeout per attempt, a webhook retried a few times with backoff on a
5xx or a connection failure, never queued without end. A failure is a result naming the
channel and why (never the password, never the URL's path, which may hold a token), not
an exception.

smtplib, ssl and http.client are loaded only when a message goes out: the agent's every
quiet run stays small."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import ssl

from .message import AlertMessage

TIMEOUT = 15.0  # seconds per attempt
WEBHOOK_TRIES = 3
BACKOFF = 2.0  # seconds before the second try, doubled before each next one


class Email(NamedTuple):
    to: Sequence[str]
    host: str
    port: int = 587
    user: str = ""
    password: str = ""  # never in the repr
    sender: str = ""
    starttls: bool = True
    ca: str = ""  # a CA file trusted besides the system's

    def __repr__(self) -> str:
        return f"Email({self.name})"

    @property
    def name(self) -> str:
        return f"email to {', '.join(self.to)} via {self.host}:{self.port}"


class Webhook(NamedTuple):
    url: str  # never in the repr: its path may hold a token
    tries: int = WEBHOOK_TRIES
    backoff: float = BACKOFF

    def __repr__(self) -> str:
        return f"Webhook({self.name})"

    @property
    def name(self) -> str:
        scheme, _, rest = self.url.partition("://")
        return f"webhook {scheme}://{rest.split('/')[0].split('?')[0]}"


Channel = Email | Webhook


class Sent(NamedTuple):
    channel: str  # "email to a@b via host:587", "webhook https://host"
    ok: bool
    detail: str = ""  # why it failed


def send(channel: Channel, message: AlertMessage,
         sleep: Callable[[float], None] = time.sleep) -> Sent:
    if isinstance(channel, Email):
        return send_email(channel, message)
    return send_webhook(channel, message, sleep)


def send_email(email: Email, message: AlertMessage) -> Sent:
    import smtplib
    import ssl

    sender = email.sender or email.user or f"pojemnik@{email.host}"
    try:
        with smtplib.SMTP(email.host, email.port, timeout=TIMEOUT) as smtp:
            if email.starttls:
                smtp.starttls(context=tls_context(email.ca))
            if email.user:
                smtp.login(email.user, email.password)
            smtp.sendmail(sender, list(email.to), mail_bytes(sender, email.to, message))
    except smtplib.SMTPAuthenticationError as error:
        return Sent(email.name, False, f"the server refused the login of {email.user!r} "
                                       f"({error.smtp_code}); check smtp_user and the password")
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        return Sent(email.name, False, _reason(error))
    return Sent(email.name, True)


def mail_bytes(sender: str, to: Sequence[str], message: AlertMessage) -> bytes:
    """The mail as RFC 5322 text: UTF-8, its body base64 (any detail goes through)."""
    import binascii
    from email.header import Header
    from email.utils import formatdate, make_msgid

    body = binascii.b2a_base64(message.text().encode()).decode()
    subject = message.subject()
    lines = [f"From: {sender}", f"To: {', '.join(to)}",
             f"Subject: {subject if subject.isascii() else Header(subject, 'utf-8').encode()}",
             f"Date: {formatdate()}", f"Message-ID: {make_msgid('pojemnik')}",
             "MIME-Version: 1.0", 'Content-Type: text/plain; charset="utf-8"',
             "Content-Transfer-Encoding: base64", "",
             *(body[i:i + 76] for i in range(0, len(body), 76))]
    return "\r\n".join(lines).encode()


def tls_context(ca: str = "") -> ssl.SSLContext:
    """The system's CAs (looked up in /etc/ssl/certs as needed rather than all loaded:
    the whole bundle costs 2 MiB of the agent's memory), and `ca` besides."""
    import ssl

    paths = ssl.get_default_verify_paths()
    if not paths.capath or not os.path.isdir(paths.capath):
        return ssl.create_default_context(cafile=ca or None)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostnames and chains checked
    context.load_verify_locations(capath=paths.capath)
    if ca:
        context.load_verify_locations(cafile=ca)
    return context


def send_webhook(hook: Webhook, message: AlertMessage,
                 sleep: Callable[[float], None] = time.sleep) -> Sent:
    reason, attempt = "", 0
    for attempt in range(max(1, hook.tries)):
        if attempt:
            sleep(hook.backoff * 2 ** (attempt - 1))
        try:
            status, why = _post(hook.url, message.webhook_body())
        except OSError as error:
            reason = _reason(error)
            continue
        if status < 300:
            return Sent(hook.name, True)
        reason = f"the receiver answered {status} {why}"
        if status < 500:
            break  # a 4xx (or a redirect) does not get better by asking again
    return Sent(hook.name, False, f"{reason} (tried {attempt + 1} time(s))")


def _post(url: str, body: bytes) -> tuple[int, str]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPSConnection(parts.netloc, timeout=TIMEOUT,
                                             context=tls_context()) \
        if parts.scheme == "https" else http.client.HTTPConnection(parts.netloc,
                                                                    timeout=TIMEOUT)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body,
                           headers={"Content-Type": "application/json",
                                    "User-Agent": "pojemnik-alerts"})
        response = connection.getresponse()
        response.read(1024)
        return response.status, response.reason
    finally:
        connection.close()


def from_config(channels: Mapping[str, Any]) -> dict[str, Channel]:
    """The agent's `"channels"` config -> {"email": Email, "webhook": Webhook}. The
    password and the webhook's URL are read from their files (0600, root's), never
    from the config itself."""
    found: dict[str, Channel] = {}
    email = channels.get("email")
    if email:
        found["email"] = Email(
            to=list(email["to"]), host=email["host"], port=int(email.get("port", 587)),
            user=email.get("user", ""), password=_secret(email.get("password_file", "")),
            sender=email.get("from", ""), starttls=bool(email.get("starttls", True)),
            ca=email.get("ca", ""))
    hook = channels.get("webhook")
    if hook:
        found["webhook"] = Webhook(_secret(hook["url_file"]),
                                   int(hook.get("tries", WEBHOOK_TRIES)),
                                   float(hook.get("backoff", BACKOFF)))
    return found


def _secret(path: str) -> str:
    if not path:
        return ""
    mode = os.stat(path).st_mode
    if mode & 0o077:
        raise PermissionError(f"{path} is readable by others (mode {mode & 0o777:o}): "
                              f"chmod 600 {path}")
    with open(path) as handle:
        return handle.read().rstrip("\n")


def _reason(error: BaseException) -> str:
    inner = getattr(error, "reason", None)
    return f"{type(error).__name__}: {inner if inner is not None else error}"


def serve() -> None:
    """The sender's child process (see check.send_apart): {"channels": the config's,
    "messages": [...]} on standard input, one JSON result per message on standard output.
    The password and the webhook's URL are read here, from their files."""
    import json
    import sys

    request = json.load(sys.stdin)
    broken = ""
    try:
        channels = from_config(request.get("channels") or {})
    except (OSError, KeyError, ValueError) as error:
        channels, broken = {}, f"the channels cannot be used: {_reason(error)}"
    for item in request.get("messages", []):
        channel = channels.get(item["channel"])
        if channel is None:
            result = Sent(item["channel"], False, broken or "no such channel is configured")
        else:
            result = send(channel, AlertMessage(item["project"], item["state"], item["check"],
                                                item["detail"], item["at"]))
        print(json.dumps({"ok": result.ok, "channel": result.channel,
                          "detail": result.detail}), flush=True)
