"""Order (when needed), install and check the proxy's certificate; record the attempt.

Never raises for the CA's sake: a CA that cannot be reached, a refused challenge, a
rate limit or a name pointing elsewhere leave the installed certificate (or the
self-signed one) served, and the recorded attempt says what failed and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ...console import Say
from ...declaration.model import Stack
from ...engine.backend import Engine
from ...errors import PojemnikError
from ...planning.tls import Decision, attempt_record, decide, failure_of
from . import _order, _proxy

ADVICE = ("the proxy keeps serving its current certificate; check that each name's DNS "
          "points at this server and port 80 is reachable, then `invoke tls.renew` "
          "(docs/guides/certificates.md#when-a-renewal-fails)")


@dataclass(frozen=True)
class Result:
    decision: Decision
    error: str | None = None  # the order or the install failed
    serial: str | None = None  # the new certificate's, once served

    @property
    def ordered(self) -> bool:
        return self.decision.order


def ensure(stack: Stack, engine: Engine, say: Say, force: bool = False) -> Result:
    acme = stack.tls
    if acme is None or not acme.ordered():
        return Result(Decision(False, "no ACME names (self-signed certificate)"))
    proxy = stack.container_name(acme.proxy)
    decision = decide(acme, _proxy.installed(engine, proxy), datetime.now(UTC), force)
    if not decision.order:
        say(f"tls: {', '.join(acme.ordered())}: {decision.reason}; nothing ordered")
        return Result(decision)
    say(f"tls: ordering a certificate for {', '.join(acme.ordered())} ({decision.reason}) "
        f"from {acme.directory}")
    try:
        error, serial = _order_and_install(stack, engine, proxy)
    except PojemnikError as failure:
        error, serial = str(failure), None
    _proxy.record(engine, proxy, attempt_record(acme.ordered(), datetime.now(UTC), error,
                                                serial))
    if error is not None:
        say(f"tls: WARNING: no new certificate: {error}")
        say(f"tls: {ADVICE}")
        return Result(decision, error=error)
    say(f"tls: certificate {serial} installed and served for {', '.join(acme.ordered())}")
    return Result(decision, serial=serial)


def planned(stack: Stack, engine: Engine) -> str | None:
    """What a deploy would do about the certificate (for `plan`, `deploy --dry`)."""
    acme = stack.tls
    if acme is None or not acme.ordered():
        return None
    try:
        installed = _proxy.installed(engine, stack.container_name(acme.proxy))
    except PojemnikError:
        installed = None  # no proxy yet: the first deploy orders
    decision = decide(acme, installed, datetime.now(UTC))
    verb = "would order a certificate" if decision.order else "nothing to order"
    return f"tls: {', '.join(acme.ordered())}: {verb} ({decision.reason})"


def _order_and_install(stack: Stack, engine: Engine, proxy: str) -> tuple[str | None, str | None]:
    assert stack.tls is not None
    failure = failure_of(_order.run(stack, stack.tls, engine))
    if failure is not None:
        return failure, None
    new = _proxy.installed(engine, proxy)
    if new is None:
        return "the ACME client reported success but left no readable certificate", None
    problem = _proxy.check_config(engine, proxy)
    if problem is not None:
        _proxy.restore_previous(engine, proxy)  # nginx keeps (and restarts with) the old one
        return f"nginx refused the new certificate (the previous one is back): {problem}", None
    problem = _proxy.reload(engine, proxy)
    if problem is not None:
        return f"nginx did not reload with the new certificate: {problem}", None
    wrong = [n for n in stack.tls.ordered() if _proxy.served_serial(engine, proxy, n) != new.serial]
    if wrong:
        return (f"the proxy does not serve the new certificate {new.serial} for "
                f"{', '.join(wrong)} after the reload"), None
    return None, new.serial
