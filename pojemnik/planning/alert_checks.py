"""What the agent checks on the server and where it sends alerts, from the declaration:
the `"checks"` and `"channels"` keys of its config (`agent.json`), and the secret files
beside it (the SMTP password, the webhook's URL: 0600, never in the config). Pure.

The sites are asked through the proxy's published HTTP port with each site's Host header;
the containers are the services' own; memory against each service's declared limit and
the host's available memory against `memory_reserve`; the certificate is the proxy's
installed `tls.crt` (when `tls` is declared); the backups' audit log (when `backup` is),
its last good run no older than twice the schedule; the firewall's installed rules (when
`firewall` is)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from ..agent.schedule import ScheduleError, parse
from ..declaration.alerts import Alerts
from ..declaration.model import Port, Stack
from ..declaration.units import memory_bytes
from .tls import CERTIFICATE

FIREWALL_DIR = "/etc/pojemnik/firewall"
DAY = 86400
HTTP_PORTS = (80, 8080)  # container ports a proxy serves plain HTTP on


@dataclass(frozen=True)
class Where:
    """Where the agent's files live on the server."""

    config_dir: str  # /etc/pojemnik/<project>: agent.json and the secret files
    docker_socket: str = "/var/run/docker.sock"

    @property
    def password_file(self) -> str:
        return f"{self.config_dir}/alerts-smtp-password"

    @property
    def webhook_file(self) -> str:
        return f"{self.config_dir}/alerts-webhook-url"


def config(stack: Stack, where: Where) -> dict[str, Any]:
    """The agent config's `checks` and `channels` (empty when no alerts are declared)."""
    alerts = stack.alerts
    if alerts is None:
        return {}
    return {"checks": checks(stack, alerts, where), "channels": channels(alerts, where)}


def secret_files(stack: Stack, where: Where) -> dict[str, str]:
    """path -> content, each written 0600 (root's)."""
    alerts = stack.alerts
    files = {}
    if alerts is not None and alerts.smtp_user:
        files[where.password_file] = alerts.smtp_password
    if alerts is not None and alerts.webhook:
        files[where.webhook_file] = alerts.webhook
    return files


def checks(stack: Stack, alerts: Alerts, where: Where) -> dict[str, Any]:
    found: dict[str, Any] = {
        "docker": where.docker_socket,
        "containers": {s.name: stack.container_name(s.name) for s in stack.services},
        "memory": {"percent": alerts.memory_percent,
                   "limits": {s.name: memory_bytes(s.limits.memory) for s in stack.services},
                   "reserve": memory_bytes(stack.memory_reserve)},
        "disk": {"percent": alerts.disk_percent, "paths": ["/"]},
    }
    names = list(site_names(stack, alerts))
    port = proxy_port(stack, alerts)
    if names and port is not None:
        found["sites"] = {"address": _address(port), "port": port.host, "https": False,
                          "names": names}
    if stack.tls is not None:
        found["certificate"] = {"container": stack.container_name(stack.tls.proxy),
                                "path": CERTIFICATE, "days": alerts.certificate_days}
    if stack.backup is not None:
        found["backup"] = {"history": stack.host_path(f".pojemnik/{stack.project}") +
                           "/history.log",
                           "max_age": 2 * schedule_seconds(stack.backup.schedule)}
    if stack.firewall is not None:
        found["firewall"] = {"dir": FIREWALL_DIR}
    return found


def channels(alerts: Alerts, where: Where) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if alerts.email_to:
        found["email"] = {"to": list(alerts.email_to), "host": alerts.smtp_host,
                          "port": alerts.smtp_port, "user": alerts.smtp_user,
                          "password_file": where.password_file if alerts.smtp_user else "",
                          "from": alerts.email_from, "starttls": alerts.starttls,
                          "ca": alerts.smtp_ca}
    if alerts.webhook:
        found["webhook"] = {"url_file": where.webhook_file}
    return found


def site_names(stack: Stack, alerts: Alerts) -> list[str]:
    if alerts.sites is not None:
        return list(alerts.sites)
    return list(stack.tls.names) if stack.tls is not None else []


def proxy_name(stack: Stack, alerts: Alerts) -> str:
    return alerts.proxy or (stack.tls.proxy if stack.tls is not None else "proxy")


def proxy_port(stack: Stack, alerts: Alerts) -> Port | None:
    """The proxy's published HTTP port (the first TCP one if none is 80 or 8080 inside)."""
    service = next((s for s in stack.services if s.name == proxy_name(stack, alerts)), None)
    tcp = [p for p in service.ports if p.protocol == "tcp"] if service else []
    return next((p for p in tcp if p.container in HTTP_PORTS), tcp[0] if tcp else None)


def _address(port: Port) -> str:
    """Where the host reaches it: a wildcard address means the loopback."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(port.address,
                                                                     port.address)


def schedule_seconds(schedule: str) -> int:
    """The longest gap between two runs of a schedule ("daily": 86400, "every 15m": 900,
    a cron line: its longest gap over a week); one that does not parse as the agent's
    (a systemd OnCalendar expression) counts as daily."""
    try:
        parsed = parse(schedule)
    except ScheduleError:
        return DAY
    start = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
    fires = [minute for minute in range(8 * 24 * 60)
             if parsed.matches(start + timedelta(minutes=minute))]
    if len(fires) < 2:
        return 31 * DAY  # less often than weekly: monthly at most
    return 60 * max(b - a for a, b in pairwise(fires))
