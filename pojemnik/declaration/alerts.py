"""Where alerts go: `Stack(alerts=Alerts(...))`, usually filled from `.env` settings.

Two channels, either or both: email over SMTP (STARTTLS and login by default, as a mail
provider's submission port 587 wants) and a webhook (an HTTP POST of a JSON body, see
planning/alert_message.py). The SMTP password is a secret: never printed, never in a repr.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Alerts:
    email_to: Sequence[str] = ()  # addresses; none: no email
    email_from: str = ""  # default: smtp_user
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""  # empty: no login
    smtp_password: str = field(default="", repr=False)
    starttls: bool = True  # False only for a relay on the host itself
    smtp_ca: str = ""  # a CA file to trust besides the system's (a self-hosted server)
    webhook: str = ""  # https://... ; empty: no webhook

    def channels(self) -> list[str]:
        return [name for name, on in (("email", bool(self.email_to)),
                                      ("webhook", bool(self.webhook))) if on]


Add = Callable[[str, str, str, object], None]  # field, message, fix, the value


def check_alerts(alerts: Alerts, report: Add) -> None:
    """Each mistake once, naming the field (and the .env variable it came from) and the fix."""
    def add(where: str, what: str, fix: str, value: object = None) -> None:
        report(f"alerts.{where}", what, fix, value)

    if alerts.email_to and not alerts.smtp_host:
        add("smtp_host", "email_to is set but no SMTP server is",
            "set smtp_host (e.g. from ALERT_SMTP_HOST in .env), or leave email_to empty",
            alerts.smtp_host)
    for address in alerts.email_to:
        if "@" not in address.strip("@"):
            add("email_to", f"{address!r} is not an email address", "give user@domain",
                address)
    if isinstance(alerts.smtp_port, bool) or not isinstance(alerts.smtp_port, int) \
            or not 0 < alerts.smtp_port < 65536:
        add("smtp_port", f"{alerts.smtp_port!r} is not a port",
            "give a number from 1 to 65535 (587: submission with STARTTLS)", alerts.smtp_port)
    if alerts.smtp_user and not alerts.smtp_password:
        add("smtp_password", "smtp_user is set but no password is",
            "set the password (e.g. ALERT_SMTP_PASSWORD in .env), or leave smtp_user empty")
    if alerts.webhook:
        url = urlsplit(alerts.webhook)
        if url.scheme not in ("http", "https") or not url.netloc:
            add("webhook", "is not an http(s) URL (not shown: it may hold a token)",
                "give the receiver's URL, e.g. https://hooks.slack.com/services/...",
                alerts.webhook)
