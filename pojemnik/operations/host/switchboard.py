"""The proxies' upstream files, kept equal to where each upstream service runs.

Files are written on the engine's host through `hostfiles.files`, and a running proxy
reloads after a change (check, then its graceful reload), one reload at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from ...console import Say
from ...engine.backend import Engine
from ...hostfiles.files import HostFiles
from ...planning.upstreams import ProxyUpstreams, render_upstream, upstream_files
from ..records.release_runs import ReleaseRun
from ._reload import reload_service


@dataclass
class Switchboard:
    """Points each proxy's upstreams at containers, and reloads the proxy when needed."""

    proxies: list[ProxyUpstreams]
    engine: Engine
    files: HostFiles
    say: Say
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The sites in maintenance around a release command that asks for it (by service).
    release_gate: Callable[[str], AbstractContextManager[None]] | None = None
    release_runs: list[ReleaseRun] | None = None  # what release commands ran (the deploy's)

    def sync(self) -> None:
        """Every upstream file to where its service's container runs now."""
        for proxy in self.proxies:
            addresses = {u.container: self.engine.addresses(u.container)
                         for u in proxy.upstreams}
            self._apply(proxy, upstream_files(proxy, addresses))

    def point(self, service: str, container: str) -> bool:
        """The upstream of `service` to `container` (a replacement), live when this
        returns. False: no proxy has it as an upstream."""
        found = False
        for proxy in self.proxies:
            for upstream in proxy.upstreams:
                if upstream.service != service:
                    continue
                address = (self.engine.addresses(container) or {}).get(upstream.network)
                assert address, f"{container} is not on {upstream.network}"
                self._apply(proxy, {upstream.file: render_upstream(service, address,
                                                                   upstream.port)})
                found = True
        return found

    def _apply(self, proxy: ProxyUpstreams, files: dict[str, str]) -> None:
        with self.lock:
            changed = [name for name, content in sorted(files.items())
                       if self.files.read(proxy.directory, name) != content]
            for name in changed:
                self.files.write(proxy.directory, name, files[name])
                self.say(f"upstream {name.removesuffix('.conf')}: "
                         f"{files[name].split('server ')[1].split(';')[0]}")
            running = self.engine.state(proxy.proxy) == "running"
            if changed and running and proxy.reload is not None:
                reload_service(self.engine, proxy.proxy, proxy.reload, self.say)
                self.say(f"container {proxy.proxy}: reloaded, upstreams live")


def reload_proxy(engine: Engine, proxy: ProxyUpstreams, say: Say) -> bool:
    """A running proxy takes the files rewritten in its directory (maintenance mode's too):
    its declared check first (a refusal raises, the running config is kept), then its
    graceful reload, live when this returns. False: not running (it reads them at start)."""
    if engine.state(proxy.proxy) != "running" or proxy.reload is None:
        return False
    reload_service(engine, proxy.proxy, proxy.reload, say)
    return True


def write_declared(proxies: list[ProxyUpstreams], files: HostFiles) -> None:
    """Each upstream at its service's declared address (for an exported compose file,
    whose containers always run there)."""
    for proxy in proxies:
        for name, content in upstream_files(proxy, {}).items():
            files.write(proxy.directory, name, content)
