"""Where alerts go: `Stack(alerts=Alerts(...))`, usually filled from `.env` settings.

Two channels, either or both: email over SMTP (STARTTLS and login by default, as a mail
provider's submission port 587 wants) and a webhook (an HTTP POST of a JSON body, see
agent/alerts/message.py). The SMTP password is a secret: never printed, never in a repr.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..agent.schedule import ScheduleError, parse


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
    # The server's own checks (`pojemnik-agent check`, on its own timer):
    every: str = "every 5m"  # how often: "every 5m", "hourly", ...
    sites: Sequence[str] | None = None  # Host names asked through the proxy; None: tls.names
    proxy: str = ""  # the service the sites answer through; "": tls.proxy, else "proxy"
    disk_percent: float = 85.0  # the Docker data root's and /'s disk fuller than this
    memory_percent: float = 90.0  # a container using more of its memory limit than this
    certificate_days: int = 14  # the proxy's certificate expiring within this many days

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
    _check_thresholds(alerts, add)
    if alerts.webhook:
        url = urlsplit(alerts.webhook)
        if url.scheme not in ("http", "https") or not url.netloc:
            add("webhook", "is not an http(s) URL (not shown: it may hold a token)",
                "give the receiver's URL, e.g. https://hooks.slack.com/services/...",
                alerts.webhook)



def _check_thresholds(alerts: Alerts, add: Callable[..., None]) -> None:
    for name in ("disk_percent", "memory_percent"):
        value = getattr(alerts, name)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not 0 < value <= 100:
            add(name, f"{value!r} is not a percentage", "give a number above 0, at most 100 "
                f"(the default: {getattr(Alerts(), name):g})", value)
    days = alerts.certificate_days
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        add("certificate_days", f"{days!r} is not a number of days",
            "give a whole number of days, at least 1 (the default: 14)", days)
    try:
        parse(alerts.every)
    except ScheduleError as error:
        add("every", f"{alerts.every!r} is not a schedule the checks can run at ({error})",
            'give "every 5m", "every 1h", "hourly" or a cron line', alerts.every)
    if isinstance(alerts.sites, str):
        add("sites", "is one string, not a list of names", f'write sites=["{alerts.sites}"]',
            alerts.sites)
