"""What is asked of the running proxy container: the installed certificate, the recorded
attempt, the config check, the graceful reload and the certificate it serves per name."""

from __future__ import annotations

import json
from typing import Any

from ...engine.backend import Engine
from ...planning.tls import SHOW, STATUS_FILE, TLS_DIR, Installed, parse_installed


def installed(engine: Engine, proxy: str) -> Installed | None:
    code, output = engine.exec(proxy, SHOW)
    return parse_installed(output) if code == 0 else None


def last_attempt(engine: Engine, proxy: str) -> dict[str, Any] | None:
    code, output = engine.exec(proxy, ["cat", STATUS_FILE])
    if code != 0:
        return None
    try:
        found = json.loads(output)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def record(engine: Engine, proxy: str, text: str) -> None:
    """Written beside the certificate (the volume outlives containers), renamed into place."""
    engine.exec(proxy, ["sh", "-c", 'umask 022; printf "%s\\n" "$1" > "$2.new" && '
                        'mv -f "$2.new" "$2"', "record", text, STATUS_FILE])


def check_config(engine: Engine, proxy: str) -> str | None:
    code, output = engine.exec(proxy, ["nginx", "-t"])
    return None if code == 0 else output.strip()


def reload(engine: Engine, proxy: str) -> str | None:
    code, output = engine.exec(proxy, ["proxy-reload"])
    return None if code == 0 else output.strip()


def served_serial(engine: Engine, proxy: str, name: str) -> str:
    """The serial of the certificate nginx presents for `name` (SNI), from inside the
    proxy, so it is the same check on a remote host."""
    script = ('echo | openssl s_client -connect 127.0.0.1:8443 -servername "$1" 2>/dev/null'
              ' | openssl x509 -noout -serial')
    code, output = engine.exec(proxy, ["sh", "-c", script, "served", name])
    return output.strip().partition("=")[2].upper() if code == 0 else ""


def restore_previous(engine: Engine, proxy: str) -> None:
    """Back to the pair served before the order (kept by the client as tls.*.prev)."""
    engine.exec(proxy, ["sh", "-c", 'cd "$1" && [ -s tls.key.prev ] && [ -s tls.crt.prev ] && '
                        "mv -f tls.key.prev tls.key && mv -f tls.crt.prev tls.crt",
                        "restore", TLS_DIR])
