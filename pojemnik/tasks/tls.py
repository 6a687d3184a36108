"""`tls.*`: the proxy's real certificates (ACME): what is served, and renewing it."""

from __future__ import annotations

import json
from typing import Any

from invoke import Collection, Context, task

from ..console import say
from ..declaration.model import Stack
from .context import engine_of, guard, print_table, stack_of
from .lock import holding_lock


@task(help={"json": "print JSON (one object per name) instead of a table"})
def status(c: Context, json_: bool = False) -> None:
    """Per name: issuer, not-after, days left, last attempt and its error."""
    from ..operations.tls.status import read, summary

    stack = stack_of(c)
    server = guard(lambda: server_record(c, stack))
    with engine_of(c) as engine:
        rows = guard(lambda: read(stack, engine, server))
    if json_:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        say("tls: no names declared (the proxy serves its self-signed certificate)")
        return
    print_table(["NAME", "ISSUER", "NOT AFTER", "DAYS", "LAST ATTEMPT", "BY", "RESULT",
                 "ERROR"],
                [[r["name"], r["issuer"] or ("self-signed" if not r["acme"] else "-"),
                  r["not_after"] or "-", str(r["days_left"] if r["days_left"] is not None
                                              else "-"),
                  r["last_attempt"] or "-", r["by"] or "-", r["result"] or "-",
                  r["error"] or ""] for r in rows])
    for line in summary(rows):
        say(line)


@task(help={"force": "order a new certificate even while the installed one is valid"})
def renew(c: Context, force: bool = False) -> None:
    """Order a certificate if none valid is installed (or --force), install it, check it."""
    from ..operations.tls.certificate import ensure

    stack = stack_of(c)
    with engine_of(c) as engine, holding_lock(c, engine, stack, True):
        result = guard(lambda: ensure(stack, engine, say, force=force))
    if result.error is not None:
        raise SystemExit(1)


def server_record(c: Context, stack: Stack) -> dict[str, Any] | None:
    """The agent's record of the server's renewal on the engine's host (here, or over
    `fab -H`), if the agent is installed and has run it."""
    from ..operations.server.agent import records
    from ..operations.tls.renewal import agent_tasks

    if not agent_tasks(stack):
        return None
    return next((r for r in records(c, stack.project) if r.get("name") in agent_tasks(stack)),
                None)


def collection() -> Collection:
    tls = Collection("tls")
    tls.add_task(status, "status", default=True)
    tls.add_task(renew, "renew")
    return tls
