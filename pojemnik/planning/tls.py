"""Certificates, as pure functions: read what `openssl x509` says of the installed one,
decide whether to order, the one-shot ACME container's spec, and the recorded attempt.

An order is placed only when no valid certificate for exactly the declared names is
installed: a redeploy, `down` + `deploy`, a rebuilt proxy image or a second `fab -H`
run finds the one in the volume and orders nothing (the CA's rate limits stay far).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..declaration.model import Limits, Stack
from ..declaration.tls import Acme
from .hardening import CAP_DROP, SECURITY_OPT
from .logging_policy import LogSpec
from .spec import Attachment, ContainerSpec, MountSpec, labels

TLS_DIR = "/var/lib/proxy-tls"
CERTIFICATE = f"{TLS_DIR}/tls.crt"
STATUS_FILE = f"{TLS_DIR}/acme-status.json"  # the last attempt; no secret in it
SHOW = ["openssl", "x509", "-in", CERTIFICATE, "-noout", "-serial", "-enddate", "-issuer",
        "-subject", "-ext", "subjectAltName"]
OK_LINE = "acme-order: ok"


@dataclass(frozen=True)
class Installed:
    """The certificate in the proxy's volume, as `openssl x509` (SHOW) printed it."""

    serial: str
    not_after: datetime
    issuer: str
    subject: str
    names: tuple[str, ...]

    @property
    def self_signed(self) -> bool:
        return self.issuer == self.subject

    def days_left(self, now: datetime) -> int:
        return (self.not_after - now) // timedelta(days=1)


def parse_installed(text: str) -> Installed | None:
    fields = dict(re.findall(r"^(serial|notAfter|issuer|subject)=\s*(.*)$", text, re.M))
    if "serial" not in fields or "notAfter" not in fields:
        return None
    try:
        not_after = datetime.strptime(" ".join(fields["notAfter"].split()),
                                      "%b %d %H:%M:%S %Y GMT").replace(tzinfo=UTC)
    except ValueError:
        return None
    names = tuple(n.lower() for n in re.findall(r"DNS:([^,\s]+)", text))
    return Installed(fields["serial"].upper(), not_after, fields.get("issuer", ""),
                     fields.get("subject", ""), names)


@dataclass(frozen=True)
class Decision:
    order: bool
    reason: str


def decide(acme: Acme, installed: Installed | None, now: datetime,
           force: bool = False) -> Decision:
    names = acme.ordered()
    if not names:
        return Decision(False, "no ACME names (self-signed certificate)")
    if force:
        return Decision(True, "renewal forced")
    if installed is None:
        return Decision(True, "no certificate installed")
    if installed.self_signed:
        return Decision(True, "the installed certificate is self-signed")
    if sorted(set(installed.names)) != sorted({n.lower() for n in names}):
        return Decision(True, f"the installed certificate is for {', '.join(installed.names)}")
    left = installed.days_left(now)
    if left < acme.renew_days:
        return Decision(True, f"{left} days left (renewing below {acme.renew_days})")
    return Decision(False, f"valid until {installed.not_after:%Y-%m-%d} ({left} days left)")


def order_name(stack: Stack) -> str:
    return stack.container_name("acme-order")


def order_spec(stack: Stack, acme: Acme, ca_pem: str) -> ContainerSpec:
    """The one-shot lego container: the three volumes, the CA's network, no Docker
    socket, nothing secret in its environment (the CA's public certificate at most)."""
    env = {"ACME_NAMES": ",".join(acme.ordered()), "ACME_EMAIL": acme.email,
           "ACME_DIRECTORY": acme.directory}
    if ca_pem:
        env["ACME_CA_PEM"] = ca_pem
    mounts = [MountSpec("volume", stack.volume_name(acme.state), "/var/lib/acme", False),
              MountSpec("volume", stack.volume_name(acme.webroot), "/var/lib/acme-webroot",
                        False),
              MountSpec("volume", stack.volume_name(acme.certificates), TLS_DIR, False)]
    return ContainerSpec(
        service="acme-order", name=order_name(stack), image=stack.image_tag(acme.image),
        command=None, environment=env, user=None, ports=[], mounts=mounts,
        tmpfs={"/tmp": "rw,noexec,nosuid,size=1m,mode=1777"},
        networks=[Attachment(stack.network_name(acme.network), None, [])],
        restart="no", healthcheck=None, limits=Limits(memory="128m", cpus=1.0, pids=100),
        read_only=True, cap_add=[],
        cap_drop=list(CAP_DROP), security_opt=list(SECURITY_OPT), memory_swap=128 * 2**20,
        heal_after=None, labels=labels(stack, "acme-order", order_name(stack)),
        logging=LogSpec())


def failure_of(log: str) -> str | None:
    """None when the order succeeded; else the client's last words (lego names the
    failed challenge, the refused name or the rate limit), for the status."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    if lines and lines[-1] == OK_LINE:
        return None
    useful = [line for line in lines if not line.startswith("acme-order: failed")]
    return " | ".join(useful[-3:]) or "the ACME client ended without saying why"


def attempt_record(names: list[str], when: datetime, error: str | None,
                   serial: str | None = None) -> str:
    return json.dumps({"names": names, "at": when.strftime("%Y-%m-%d %H:%M:%S UTC"),
                       "result": "ok" if error is None else "failed",
                       "error": error, "serial": serial}, sort_keys=True)
