"""What `tls.status` shows: per declared name the certificate the proxy serves, and the
last attempt recorded on the server (when, how it went, its error)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ...declaration.model import Stack
from ...engine.backend import Engine
from . import _proxy


def read(stack: Stack, engine: Engine) -> list[dict[str, Any]]:
    acme = stack.tls
    if acme is None or not acme.names:
        return []
    proxy = stack.container_name(acme.proxy)
    installed = _proxy.installed(engine, proxy)
    attempt = _proxy.last_attempt(engine, proxy) or {}
    ordered = set(acme.ordered())
    rows: list[dict[str, Any]] = []
    for name in acme.names:
        covered = installed is not None and name.lower() in installed.names
        served = _proxy.served_serial(engine, proxy, name) if installed is not None else ""
        mine = name in attempt.get("names", [])
        rows.append({
            "name": name,
            "acme": name in ordered,
            "issuer": installed.issuer if installed and covered else None,
            "serial": served or None,
            "not_after": f"{installed.not_after:%Y-%m-%d %H:%M} UTC"
            if installed and covered else None,
            "days_left": installed.days_left(datetime.now(UTC)) if installed and covered
            else None,
            "last_attempt": attempt.get("at") if mine else None,
            "result": attempt.get("result") if mine else None,
            "error": attempt.get("error") if mine else None,
        })
    return rows
