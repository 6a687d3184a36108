"""What `tls.status` shows: per declared name the certificate the proxy serves, and the
last attempt recorded on the server: the newer of a deploy's or `tls.renew`'s (in the
certificate volume, `acme-status.json`) and the server's daily renewal (the agent's
record of its `tls-renew` task: when, how it went, lego's words, the backoff)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ...declaration.model import Stack
from ...engine.backend import Engine
from ...planning.tls import failure_of
from . import _proxy
from .certificate import ADVICE

STAMP = "%Y-%m-%d %H:%M:%S UTC"


def read(stack: Stack, engine: Engine, server: dict[str, Any] | None = None
         ) -> list[dict[str, Any]]:
    """`server`: the agent's record of the renewal task on the engine's host, if any."""
    acme = stack.tls
    if acme is None or not acme.names:
        return []
    proxy = stack.container_name(acme.proxy)
    installed = _proxy.installed(engine, proxy)
    renewal = server_renewal(server)
    attempt = newest(_proxy.last_attempt(engine, proxy) or {}, renewal, acme.ordered())
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
            "by": attempt.get("by") if mine else None,
            "result": attempt.get("result") if mine else None,
            "error": attempt.get("error") if mine else None,
            "advice": ADVICE if mine and attempt.get("result") == "failed" else None,
            "renewal": renewal if name in ordered else None,
        })
    return rows


def server_renewal(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The agent's record, as status shows it: no output beyond lego's last words."""
    if not record or "started" not in record:
        return None
    ok = bool(record.get("ok"))
    return {"at": _stamp(record.get("started")), "result": "ok" if ok else "failed",
            "error": None if ok else failure_of(str(record.get("output") or "")),
            "failures": int(record.get("failures") or 0),
            "next_after": _stamp(record.get("next_after")) if record.get("next_after")
            else None}


def newest(deployed: dict[str, Any], renewal: dict[str, Any] | None,
           names: list[str]) -> dict[str, Any]:
    """The later of the two attempts (the stamps sort as text: same format, UTC)."""
    ours = {**deployed, "by": "deploy"} if deployed else {}
    if renewal is None or renewal["at"] is None:
        return ours
    if ours and str(ours.get("at") or "") > renewal["at"]:
        return ours
    return {"names": names, "at": renewal["at"], "result": renewal["result"],
            "error": renewal["error"], "by": "server"}


def _stamp(value: Any) -> str | None:
    """The agent's times (seconds since the epoch, or ISO 8601) in the status's format."""
    try:
        if isinstance(value, int | float):
            when = datetime.fromtimestamp(value, UTC)
        else:
            when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            when = when.replace(tzinfo=when.tzinfo or UTC).astimezone(UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return when.strftime(STAMP)


def summary(rows: list[dict[str, Any]]) -> list[str]:
    """The lines under the table: the server's renewal, and what to do after a failure."""
    if not any(r["acme"] for r in rows):
        return []
    lines = []
    renewal = next((r["renewal"] for r in rows if r["renewal"]), None)
    if renewal is None:
        lines.append("tls: no renewal by the server recorded yet (its agent is not "
                     "installed here, or its daily run has not come yet)")
    else:
        said = f"tls: the server's daily renewal: last run {renewal['at']}: {renewal['result']}"
        if renewal["error"]:
            said += f" ({renewal['error']})"
        if renewal["failures"]:
            said += (f"; {renewal['failures']} failed in a row, next try after "
                     f"{renewal['next_after'] or 'the next run'}")
        lines.append(said)
    advice = next((r["advice"] for r in rows if r["advice"]), None)
    if advice is not None or (renewal is not None and renewal["result"] == "failed"):
        lines.append(f"tls: what to do: {advice or ADVICE}")
    return lines
