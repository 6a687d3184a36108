"""The agent's alert commands: `check` (run every check once, send what is due) and
`incidents [--json]` (the open ones, for `status`). Not argparse: every import counts
against the agent's 20 MiB."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from .check import check, open_incidents

USAGE = "usage: pojemnik-agent --config FILE --state DIR check | incidents [--json]"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    options: dict[str, str] = {}
    while len(args) >= 2 and args[0] in ("--config", "--state"):
        options[args[0]] = args[1]
        del args[:2]
    if set(options) != {"--config", "--state"} or args not in (
            ["check"], ["incidents"], ["incidents", "--json"]):
        print(USAGE, file=sys.stderr)
        return 2
    return command(args[0], options["--config"], options["--state"], "--json" in args)


def command(name: str, config: str, state: str, as_json: bool = False) -> int:
    if name == "check":
        try:
            with open(config) as handle:
                loaded = json.load(handle)
        except (OSError, ValueError) as error:
            print(f"pojemnik-agent: cannot read {config}: {error}", file=sys.stderr)
            return 2
        return check(loaded, state, say=lambda line: print(line, flush=True))
    found = open_incidents(state)
    if as_json:
        print(json.dumps(found, indent=2))
    else:
        for incident in found:
            flapping = " (flapping)" if incident["flapping"] else ""
            print(f"{incident['check']}: open since {incident['since']}{flapping}: "
                  f"{incident['detail']}")
        if not found:
            print("no open incidents")
    return 0
