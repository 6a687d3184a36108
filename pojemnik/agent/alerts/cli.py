"""The agent's alert commands: `check` (run every check once, send what is due) and
`incidents [--json]` (the open ones, for `status`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .check import check, open_incidents


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pojemnik-agent")
    parser.add_argument("--config", required=True, help="the project's agent.json")
    parser.add_argument("--state", required=True, help="the agent's state directory")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="run every declared check once; send what is due")
    listing = commands.add_parser("incidents", help="the open incidents")
    listing.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    return command(args.command, Path(args.config), Path(args.state),
                   getattr(args, "json", False))


def command(name: str, config: Path, state: Path, as_json: bool = False) -> int:
    if name == "check":
        try:
            loaded = json.loads(config.read_text())
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
