"""The declared alert channels as the agent's sender takes them (`agent/alerts/send.py`,
the one implementation the server and `invoke alerts.test` share), and sending through
all of them now (`alerts.test`)."""

from __future__ import annotations

import time
from collections.abc import Callable

from ...agent.alerts.message import AlertMessage
from ...agent.alerts.send import Channel, Email, Sent, Webhook, send
from ...declaration.alerts import Alerts


def channels(alerts: Alerts) -> dict[str, Channel]:
    found: dict[str, Channel] = {}
    if alerts.email_to:
        found["email"] = Email(
            to=list(alerts.email_to), host=alerts.smtp_host, port=alerts.smtp_port,
            user=alerts.smtp_user, password=alerts.smtp_password, sender=alerts.email_from,
            starttls=alerts.starttls, ca=alerts.smtp_ca)
    if alerts.webhook:
        found["webhook"] = Webhook(alerts.webhook)
    return found


def send_all(alerts: Alerts, message: AlertMessage,
             sleep: Callable[[float], None] = time.sleep) -> list[Sent]:
    return [send(channel, message, sleep) for channel in channels(alerts).values()]
