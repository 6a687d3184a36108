"""Check what the server's alert checks need from the rest of the declaration: the sites
are asked through a declared proxy that publishes a port."""

from __future__ import annotations

from collections.abc import Callable

from ..model import Stack

Add = Callable[..., None]  # field, message, fix, value=None


def check_alert_sites(stack: Stack, add: Add) -> None:
    alerts = stack.alerts
    if alerts is None:
        return
    sites = list(alerts.sites) if alerts.sites is not None and \
        not isinstance(alerts.sites, str) else list(stack.tls.names if stack.tls else [])
    if not sites:
        return
    proxy = alerts.proxy or (stack.tls.proxy if stack.tls is not None else "proxy")
    service = next((s for s in stack.services if s.name == proxy), None)
    if service is None:
        add("alerts.proxy", f"the sites are checked through {proxy!r}, which is no service",
            "set alerts.proxy to the service that publishes the sites' HTTP port", proxy)
    elif not any(p.protocol == "tcp" for p in service.ports):
        add("alerts.proxy", f"{proxy} publishes no TCP port to ask the sites through",
            "publish its HTTP port (ports=[Port(80, 8080)]), or set alerts.sites=[]", proxy)
    for i, name in enumerate(sites):
        if not isinstance(name, str) or not name or "/" in name or " " in name:
            add(f"alerts.sites[{i}]", f"{name!r} is not a host name",
                "give the site's name as its Host header says it (app.example.org)", name)
