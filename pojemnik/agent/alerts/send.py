"""Sending an alert through each channel: email (SMTP, STARTTLS, login) and a webhook
(POST of JSON). Used by the agent on the server and by `invoke alerts.test` alike. Each
send is bounded: a timeout per attempt, a webhook retried a few times with backoff on a
5xx or a connection failure, never queued without end. A failure is a result naming the
channel and why (never the password, never the URL's path, which may hold a token), not
an exception."""

from __future__ import annotations

import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .message import AlertMessage

TIMEOUT = 15.0  # seconds per attempt
WEBHOOK_TRIES = 3
BACKOFF = 2.0  # seconds before the second try, doubled before each next one


@dataclass(frozen=True)
class Email:
    to: Sequence[str]
    host: str
    port: int = 587
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    starttls: bool = True
    ca: str = ""  # a CA file trusted besides the system's

    @property
    def name(self) -> str:
        return f"email to {', '.join(self.to)} via {self.host}:{self.port}"


@dataclass(frozen=True)
class Webhook:
    url: str = field(repr=False)
    tries: int = WEBHOOK_TRIES
    backoff: float = BACKOFF

    @property
    def name(self) -> str:
        parts = urlsplit(self.url)
        return f"webhook {parts.scheme}://{parts.netloc}"


Channel = Email | Webhook


@dataclass(frozen=True)
class Sent:
    channel: str  # "email to a@b via host:587", "webhook https://host"
    ok: bool
    detail: str = ""  # why it failed


def send(channel: Channel, message: AlertMessage,
         sleep: Callable[[float], None] = time.sleep) -> Sent:
    if isinstance(channel, Email):
        return send_email(channel, message)
    return send_webhook(channel, message, sleep)


def send_email(email: Email, message: AlertMessage) -> Sent:
    mail = EmailMessage()
    mail["Subject"] = message.subject()
    mail["From"] = email.sender or email.user or f"pojemnik@{email.host}"
    mail["To"] = ", ".join(email.to)
    mail.set_content(message.text())
    try:
        with smtplib.SMTP(email.host, email.port, timeout=TIMEOUT) as smtp:
            if email.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=email.ca or None))
            if email.user:
                smtp.login(email.user, email.password)
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as error:
        return Sent(email.name, False, f"the server refused the login of {email.user!r} "
                                       f"({error.smtp_code}); check smtp_user and the password")
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        return Sent(email.name, False, _reason(error))
    return Sent(email.name, True)


def send_webhook(hook: Webhook, message: AlertMessage,
                 sleep: Callable[[float], None] = time.sleep) -> Sent:
    request = urllib.request.Request(hook.url, data=message.webhook_body(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "pojemnik-alerts"})
    reason, attempt = "", 0
    for attempt in range(max(1, hook.tries)):
        if attempt:
            sleep(hook.backoff * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                response.read(1024)
            return Sent(hook.name, True)
        except urllib.error.HTTPError as error:
            reason = f"the receiver answered {error.code} {error.reason}"
            error.close()
            if error.code < 500:
                break  # a 4xx does not get better by asking again
        except (urllib.error.URLError, OSError) as error:
            reason = _reason(error)
    return Sent(hook.name, False, f"{reason} (tried {attempt + 1} time(s))")


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
    file = Path(path)
    mode = file.stat().st_mode & 0o077
    if mode:
        raise PermissionError(f"{path} is readable by others (mode {file.stat().st_mode:o}): "
                              f"chmod 600 {path}")
    return file.read_text().rstrip("\n")


def _reason(error: BaseException) -> str:
    inner = getattr(error, "reason", None)
    return f"{type(error).__name__}: {inner if inner is not None else error}"
