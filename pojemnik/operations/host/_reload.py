"""A running service takes new config (or new upstreams) gracefully, and the reload
returns only once the new config is live."""

from __future__ import annotations

import time

from ...console import Say
from ...declaration.model import Reload
from ...engine.backend import Engine
from ...errors import OperationError, Refused

LIVE_TIMEOUT = 30.0  # seconds for the reload to be live (a probe that passes ends it)
SETTLE = 0.3  # seconds for the old workers to be told to stop accepting


class ConfigRejected(Refused):
    """A service's config check refused the new config; the running one is kept."""


class ReloadFailed(OperationError):
    """The check passed, but the reload command failed or the new config never went live:
    the service may run the old config, the new one, or neither."""

    def __init__(self, message: str, container: str, reload: Reload) -> None:
        super().__init__(message)
        self.container, self.reload = container, reload


def check_config(engine: Engine, container: str, reload: Reload) -> None:
    """The declared check of the new config inside the running container; a failure
    keeps the running config."""
    if reload.check:
        code, output = engine.exec(container, list(reload.check))
        if code != 0:
            raise ConfigRejected(
                f"{container}: the new config is rejected by `{' '.join(reload.check)}`; "
                f"the running config is kept.\n{output.rstrip()}",
                by=f"the config check `{' '.join(reload.check)}` in {container}",
                kept=f"{container} (with its running config)")


def reload_service(engine: Engine, container: str, reload: Reload, say: Say,
                   checked: bool = False) -> None:
    """Check the new config inside the running container, reload it gracefully, and wait
    until it is live: the declared `live` probe passes, else the container runs processes
    that were not there before (new workers). A failed check keeps the running config;
    a declared probe that never passes fails the reload (the service may not be serving
    the new config, or anything: uWSGI that cannot load the new code exits).
    `checked`: the caller ran `check_config` already."""
    if not checked:
        check_config(engine, container, reload)
    before = engine.processes(container) if reload.live is None else set()
    code, output = engine.exec(container, list(reload.command))
    if code != 0:
        raise ReloadFailed(f"{container}: `{' '.join(reload.command)}` failed "
                           f"(exit {code}):\n{output.rstrip()}", container, reload)
    if _wait_live(engine, container, reload, before):
        return
    if reload.live is not None:
        raise ReloadFailed(
            f"{container}: reloaded, but `{' '.join(reload.live)}` did not pass within "
            f"{LIVE_TIMEOUT:g} s: it may not be serving (see `invoke logs`)", container, reload)
    # Process ids are a guess (a reload may keep its workers): said, not failed.
    say(f"container {container}: reloaded, but no new processes seen within "
        f"{LIVE_TIMEOUT:g} s")


def _wait_live(engine: Engine, container: str, reload: Reload, before: set[str]) -> bool:
    deadline = time.monotonic() + LIVE_TIMEOUT
    delay = 0.02
    while True:
        if reload.live is not None:
            if engine.exec(container, list(reload.live))[0] == 0:
                return True
        elif engine.processes(container) - before:
            # New workers run; nginx's master signals the old ones to stop accepting just
            # after starting them, and a request in between still gets the old config
            # (seen under load). Process ids alone cannot tell, so give it that moment.
            time.sleep(SETTLE)
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
