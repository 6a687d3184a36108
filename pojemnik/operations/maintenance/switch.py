"""Maintenance on and off: the files in the proxies' directory on the engine's host, then
each running proxy's check (`nginx -t`) and graceful reload. Every input is checked
before anything is written; a refused check puts the previous files back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

from ...console import Say
from ...declaration.model import Stack
from ...declaration.swarm import SWARM
from ...engine.backend import Engine
from ...errors import OperationError, PojemnikError
from ...hostfiles.files import HostFiles
from ...planning import maintenance as m
from ...planning.upstreams import ProxyUpstreams, proxy_upstreams
from ..host.switchboard import reload_proxy
from ._sites import Sites, read_sites


def current(stack: Stack, files: HostFiles) -> m.Maintenance:
    directory = _directory(proxy_upstreams(stack))
    return m.from_json(files.read(directory, m.STATE_FILE)) if directory else m.Maintenance()


def turn_on(stack: Stack, engine: Engine, files: HostFiles, say: Say, sites: list[str],
            message: str | None, allow: list[str], retry_after: int | None,
            who: str) -> m.Maintenance:
    """On for `sites` (none: every site), added to those already on. Options not given
    keep what is on. Returns the state now in force."""
    proxies, known = _checked(stack)
    chosen, problems = m.chosen_sites(sites, known.known())
    networks, wrong = m.normal_allow(allow)
    problems += wrong
    if message is not None and (problem := m.message_problem(message)):
        problems.append(problem)
    if retry_after is not None and not 0 < retry_after <= 86400:
        problems.append(f"--retry-after {retry_after}: give the seconds (1 to 86400)")
    problems += known.missing(chosen) if chosen else []
    if not problems and not chosen and not known.any_page:
        problems += known.missing(()) or ["no server block of the proxy's nginx config "
                                          "includes the maintenance page"]
    _refuse(problems)
    was = current(stack, files)
    sites_now = () if not chosen or (was.on and not was.sites) else \
        tuple(sorted({*(was.sites if was.on else ()), *chosen}))
    state = m.Maintenance(
        on=True, sites=sites_now, message=message or (was.message if was.on else
                                                      m.DEFAULT_MESSAGE),
        allow=networks or (was.allow if was.on else ()),
        retry_after=retry_after or (was.retry_after if was.on else m.DEFAULT_RETRY_AFTER),
        since=was.since if was.on else _now(), by=was.by if was.on else who)
    if not chosen:
        for line in known.missing(()):
            say(f"maintenance: note: {line} (it keeps serving)")
    _switch(proxies, engine, files, was, state, say)
    return state


def turn_off(stack: Stack, engine: Engine, files: HostFiles, say: Say,
             sites: list[str]) -> m.Maintenance:
    """Off for `sites` (none: all); the others stay in maintenance."""
    proxies, known = _checked(stack)
    chosen, problems = m.chosen_sites(sites, known.known())
    _refuse(problems)
    was = current(stack, files)
    state = m.Maintenance()
    if chosen and was.on:
        left = tuple(s for s in (was.sites or tuple(known.known())) if s not in chosen)
        state = replace(was, sites=left) if left else m.Maintenance()
    _switch(proxies, engine, files, was, state, say)
    return state


def _checked(stack: Stack) -> tuple[list[ProxyUpstreams], Sites]:
    if stack.target == SWARM:
        raise OperationError("maintenance mode is not supported on the Swarm target yet "
                             "(the proxy's files are per node); nothing was changed")
    proxies = proxy_upstreams(stack)
    if not proxies:
        raise OperationError(f"{stack.source}: no service declares Upstreams (the proxy "
                             "that answers with the maintenance page reads pojemnik's "
                             "files there); nothing was changed")
    for proxy in proxies:
        if proxy.reload is None:
            raise OperationError(f"{stack.source}: the proxy {proxy.proxy} declares no "
                                 "reload: add reload=Reload(check=[\"nginx\", \"-t\"], "
                                 "command=[...]) so it takes the page gracefully; nothing "
                                 "was changed")
    return proxies, read_sites(stack)


def _refuse(problems: list[str]) -> None:
    if problems:
        raise OperationError("maintenance: nothing was changed:\n" +
                             "\n".join(f"  {p}" for p in problems))


def _switch(proxies: list[ProxyUpstreams], engine: Engine, files: HostFiles,
            was: m.Maintenance, state: m.Maintenance, say: Say) -> None:
    directory = _directory(proxies)
    wanted = m.files(state)
    before = {name: files.read(*_split(directory, name)) for name in wanted}
    changed = [n for n in wanted if n != m.STATE_FILE and before[n] != wanted[n]]
    if not changed:
        if state != was:
            files.write(directory, m.STATE_FILE, wanted[m.STATE_FILE])
        say(f"{state.describe()} (already; nothing to reload)")
        return
    for name in wanted:
        files.write(*_split(directory, name), wanted[name])
    try:
        reloaded = [p.proxy for p in proxies if reload_proxy(engine, p, say)]
    except PojemnikError:
        for name, text in before.items():
            files.write(*_split(directory, name), text if text is not None
                        else m.files(m.Maintenance())[name])
        for proxy in proxies:
            try:
                reload_proxy(engine, proxy, say)
            except PojemnikError as again:
                say(f"container {proxy.proxy}: reloading the previous files failed too: "
                    f"{str(again).splitlines()[0]}")
        raise
    where = f"reloaded {', '.join(reloaded)}" if reloaded else \
        "no proxy running: it starts so"
    say(f"{state.describe()} ({where})")


def _split(directory: str, name: str) -> tuple[str, str]:
    head, _, tail = name.rpartition("/")
    return (f"{directory}/{head}" if head else directory), tail


def _directory(proxies: list[ProxyUpstreams]) -> str:
    return proxies[0].directory if proxies else ""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class ReleaseMaintenance:
    """Every site in maintenance while a release command that asks for it runs, then
    serving again, also after a failure. Maintenance already on (by hand) is left on.
    Shared by the containers of one deploy (they run in threads)."""

    def __init__(self, proxies: list[ProxyUpstreams], engine: Engine, files: HostFiles,
                 say: Say) -> None:
        self.proxies, self.engine, self.files, self.say = proxies, engine, files, say
        self.lock = threading.Lock()
        self.running = 0
        self.ours = False

    @contextmanager
    def during(self, service: str) -> Iterator[None]:
        with self.lock:
            self.running += 1
            if self.running == 1:
                self._on(service)
        try:
            yield
        finally:
            with self.lock:
                self.running -= 1
                if self.running == 0 and self.ours:
                    self._off(service)

    def _on(self, service: str) -> None:
        if not self.proxies:
            raise OperationError(f"{service}: its release command needs maintenance, but "
                                 "no proxy declares Upstreams; nothing was run")
        was = m.from_json(self.files.read(self.proxies[0].directory, m.STATE_FILE))
        if was.on:
            self.ours = False
            self.say(f"maintenance: already on ({was.by}); left on after {service}'s "
                     "release command")
            return
        state = m.Maintenance(on=True, since=_now(), by=m.RELEASE)
        _switch(self.proxies, self.engine, self.files, was, state, self.say)
        self.ours = True

    def _off(self, service: str) -> None:
        was = m.from_json(self.files.read(self.proxies[0].directory, m.STATE_FILE))
        if not (was.on and was.by == m.RELEASE):
            return  # turned off (or taken over) by hand meanwhile
        try:
            _switch(self.proxies, self.engine, self.files, was, m.Maintenance(), self.say)
        except PojemnikError as error:
            self.say(f"maintenance: WARNING: still on after {service}'s release command, "
                     f"turning it off failed ({str(error).splitlines()[0]}); run `invoke "
                     "maintenance.off`")
        self.ours = False
