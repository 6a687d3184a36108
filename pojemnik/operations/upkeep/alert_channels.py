"""Sending an alert through each declared channel: email (SMTP, STARTTLS, login) and a
webhook (POST of JSON). Each send is bounded: a timeout per attempt, a webhook retried a
few times with backoff on a 5xx or a connection failure, never queued without end. A
failure is a result naming the channel and why (never the password, never the URL's path,
which may hold a token), not an exception."""

from __future__ import annotations

import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

from ...declaration.alerts import Alerts
from ...planning.alert_message import AlertMessage

TIMEOUT = 15.0  # seconds per attempt
WEBHOOK_TRIES = 3
BACKOFF = 2.0  # seconds before the second try, doubled before each next one


@dataclass(frozen=True)
class Sent:
    channel: str  # "email to a@b via host:587", "webhook https://host"
    ok: bool
    detail: str = ""  # why it failed


def send_all(alerts: Alerts, message: AlertMessage,
             sleep: Callable[[float], None] = time.sleep) -> list[Sent]:
    results = []
    if alerts.email_to:
        results.append(send_email(alerts, message))
    if alerts.webhook:
        results.append(send_webhook(alerts.webhook, message, sleep))
    return results


def send_email(alerts: Alerts, message: AlertMessage) -> Sent:
    name = f"email to {', '.join(alerts.email_to)} via {alerts.smtp_host}:{alerts.smtp_port}"
    mail = EmailMessage()
    mail["Subject"] = message.subject()
    mail["From"] = alerts.email_from or alerts.smtp_user or f"pojemnik@{alerts.smtp_host}"
    mail["To"] = ", ".join(alerts.email_to)
    mail.set_content(message.text())
    try:
        with smtplib.SMTP(alerts.smtp_host, alerts.smtp_port, timeout=TIMEOUT) as smtp:
            if alerts.starttls:
                context = ssl.create_default_context(cafile=alerts.smtp_ca or None)
                smtp.starttls(context=context)
            if alerts.smtp_user:
                smtp.login(alerts.smtp_user, alerts.smtp_password)
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as error:
        return Sent(name, False, f"the server refused the login of {alerts.smtp_user!r} "
                                 f"({error.smtp_code}); check smtp_user and the password")
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        return Sent(name, False, _reason(error))
    return Sent(name, True)


def send_webhook(url: str, message: AlertMessage,
                 sleep: Callable[[float], None] = time.sleep) -> Sent:
    parts = urlsplit(url)
    name = f"webhook {parts.scheme}://{parts.netloc}"
    request = urllib.request.Request(url, data=message.webhook_body(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "pojemnik-alerts"})
    reason = ""
    for attempt in range(WEBHOOK_TRIES):
        if attempt:
            sleep(BACKOFF * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                response.read(1024)
            return Sent(name, True)
        except urllib.error.HTTPError as error:
            reason = f"the receiver answered {error.code} {error.reason}"
            error.close()
            if error.code < 500:
                break  # a 4xx does not get better by asking again
        except (urllib.error.URLError, OSError) as error:
            reason = _reason(error)
    return Sent(name, False, f"{reason} (tried {attempt + 1} time(s))")


def _reason(error: BaseException) -> str:
    inner = getattr(error, "reason", None)
    return f"{type(error).__name__}: {inner if inner is not None else error}"
