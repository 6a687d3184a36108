"""`tls.*`: the proxy's real certificates (ACME): what is served, and renewing it."""

from __future__ import annotations

import json

from invoke import Collection, Context, task

from ..console import say
from .context import engine_of, guard, print_table, stack_of
from .lock import holding_lock


@task(help={"json": "print JSON (one object per name) instead of a table"})
def status(c: Context, json_: bool = False) -> None:
    """Per name: issuer, not-after, days left, last attempt and its error."""
    from ..operations.tls.status import read

    stack = stack_of(c)
    with engine_of(c) as engine:
        rows = guard(lambda: read(stack, engine))
    if json_:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        say("tls: no names declared (the proxy serves its self-signed certificate)")
        return
    print_table(["NAME", "ISSUER", "NOT AFTER", "DAYS", "LAST ATTEMPT", "RESULT", "ERROR"],
                [[r["name"], r["issuer"] or ("self-signed" if not r["acme"] else "-"),
                  r["not_after"] or "-", str(r["days_left"] if r["days_left"] is not None
                                              else "-"),
                  r["last_attempt"] or "-", r["result"] or "-", r["error"] or ""]
                 for r in rows])


@task(help={"force": "order a new certificate even while the installed one is valid"})
def renew(c: Context, force: bool = False) -> None:
    """Order a certificate if none valid is installed (or --force), install it, check it."""
    from ..operations.tls.certificate import ensure

    stack = stack_of(c)
    with engine_of(c) as engine, holding_lock(c, engine, stack, True):
        result = guard(lambda: ensure(stack, engine, say, force=force))
    if result.error is not None:
        raise SystemExit(1)


def collection() -> Collection:
    tls = Collection("tls")
    tls.add_task(status, "status", default=True)
    tls.add_task(renew, "renew")
    return tls
