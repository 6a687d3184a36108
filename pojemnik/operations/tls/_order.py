"""The one-shot lego container: made, waited for, its output read, removed.

It never gets the Docker socket; its output holds no key (lego prints none), and only
its last lines reach the status, the console and the recorded attempt.
"""

from __future__ import annotations

import time
from pathlib import Path

from ...declaration.model import Stack
from ...declaration.tls import Acme
from ...engine.backend import Engine
from ...errors import DockerError
from ...planning.spec import volume_labels
from ...planning.tls import order_name, order_spec

ORDER_TIMEOUT = 600.0  # seconds: lego retries the CA itself; a hung one is stopped


def run(stack: Stack, acme: Acme, engine: Engine) -> str:
    """The client's output (its last line says how it went)."""
    name = order_name(stack)
    engine.remove_container(name)  # one a crashed run left
    # The account's volume is mounted by no service, so no deploy made it: made here,
    # labelled like the others (`down --volumes` and the tests find it).
    engine.create_volume(stack.volume_name(acme.state), volume_labels(stack, acme.state))
    engine.create_container(order_spec(stack, acme, ca_pem(stack, acme)))
    try:
        deadline = time.monotonic() + ORDER_TIMEOUT
        while engine.state(name) in ("created", "running"):
            if time.monotonic() > deadline:
                return "the ACME client did not finish within 10 minutes"
            time.sleep(1.0)
        return b"".join(engine.logs(name, follow=False, tail=200)).decode(errors="replace")
    except DockerError as error:
        return f"the ACME client's container failed: {error}"
    finally:
        engine.remove_container(name)


def ca_pem(stack: Stack, acme: Acme) -> str:
    if not acme.ca_certificates:
        return ""
    path = Path(acme.ca_certificates)
    return (path if path.is_absolute() else stack.root / path).read_text()
