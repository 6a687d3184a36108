"""`maintenance.on` / `maintenance.off`: the proxy answers sites with 503, `Retry-After`
and a plain page (allowed addresses pass through), locally or with `fab -H host`."""

from __future__ import annotations

from invoke import Collection, Context, Exit, task

from ..console import say
from .context import engine_of, guard, host_files, stack_of
from .lock import holding_lock

SITES_HELP = ("the site (a server name of the proxy's nginx config), comma-separated for "
              "several; default: every site")


@task(iterable=["allow"],
      help={"site": SITES_HELP,
            "message": "the page's text (HTML-escaped); default: down for maintenance",
            "allow": "an address or network (CIDR) that passes through; repeat for more",
            "retry_after": "the Retry-After header, in seconds (default 300, or as on)"})
def on(c: Context, site: str = "", message: str | None = None,
       allow: list[str] | None = None, retry_after: int = 0) -> None:
    """Put sites in maintenance: 503 with Retry-After and a page, a graceful reload.

    Checked first (unknown sites, a bad network, a site whose server block does not
    include the page: nothing changed); idempotent; on until `maintenance.off`, also
    across deploys (the state is on the host, mounted into the proxy).
    """
    from ..operations.lock import this_process
    from ..operations.maintenance.switch import turn_on

    stack = stack_of(c)
    who = this_process("maintenance.on").who
    with engine_of(c) as engine, holding_lock(c, engine, stack):
        guard(lambda: turn_on(stack, engine, host_files(c), say, _names(site), message,
                              list(allow or []), retry_after or None, who))


@task(help={"site": SITES_HELP + " (the others stay on)"})
def off(c: Context, site: str = "") -> None:
    """Serve the sites again (a graceful reload); idempotent."""
    from ..operations.maintenance.switch import turn_off

    stack = stack_of(c)
    with engine_of(c) as engine, holding_lock(c, engine, stack):
        guard(lambda: turn_off(stack, engine, host_files(c), say, _names(site)))


def _names(sites: str) -> list[str]:
    found = [s.strip() for s in sites.split(",") if s.strip()]
    if sites and not found:
        raise Exit(f"no site in {sites!r}: give names such as app.localhost", code=2)
    return found


def collection() -> Collection:
    maintenance = Collection("maintenance")
    maintenance.add_task(on, "on")
    maintenance.add_task(off, "off")
    return maintenance
