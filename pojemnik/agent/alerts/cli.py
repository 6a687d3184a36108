"""The agent's alert commands (`pojemnik-agent check`, `incidents [--json]`, dispatched by
the agent's cli): run every check once and send what is due; list the open incidents."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .check import check, open_incidents


def command(name: str, config: Mapping[str, Any], state: str, as_json: bool = False) -> int:
    if name == "check":
        return check(config, state, say=lambda line: print(line, flush=True))
    found = open_incidents(state)
    if as_json:
        print(json.dumps(found, indent=2))
        return 0
    for incident in found:
        flapping = " (flapping)" if incident["flapping"] else ""
        print(f"{incident['check']}: open since {incident['since']}{flapping}: "
              f"{incident['detail']}")
    if not found:
        print("no open incidents")
    return 0
