"""Each task's last run, `<state>/runs/NAME.json`, written whole (a reader never sees half
a record), and the backoff it carries:

    {"name", "started", "finished", "seconds", "exit", "ok", "output" (its last 4 KiB),
     "failures" (consecutive), "next_after" (no scheduled run before; null: none)}
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

OUTPUT_BYTES = 4096
MASK = "******"
# Whatever a command prints that looks like a secret: a password in a URL, and
# NAME=value or NAME: value where NAME says secret.
URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s:]*:)[^/?#@\s]+@")
NAMED_SECRET = re.compile(r"((?:PASSWORD|SECRET|TOKEN|PRIVATE|API_?KEY|CREDENTIAL)\w*"
                          r"[\"']?\s*[=:]\s*[\"']?)[^\s\"',;]+", re.IGNORECASE)


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def masked(text: str) -> str:
    return NAMED_SECRET.sub(rf"\g<1>{MASK}", URL_PASSWORD.sub(rf"\g<1>{MASK}@", text))


def tail(output: bytes) -> str:
    """The last 4 KiB of what a run printed, masked, from a whole line where it can."""
    text = output[-OUTPUT_BYTES:].decode(errors="replace")
    if len(output) > OUTPUT_BYTES and "\n" in text[:-1]:
        text = text[text.index("\n") + 1:]
    return masked(text)


def runs_dir(state: str) -> Path:
    return Path(state) / "runs"


def read(state: str, name: str) -> dict[str, Any] | None:
    try:
        found = json.loads((runs_dir(state) / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def read_all(state: str) -> list[dict[str, Any]]:
    found = []
    for path in sorted(runs_dir(state).glob("*.json")):
        record = read(state, path.stem)
        if record is not None:
            found.append(record)
    return found


def write(state: str, record: dict[str, Any]) -> None:
    folder = runs_dir(state)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(record, out, indent=1, sort_keys=True)
            out.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, folder / f"{record['name']}.json")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def record(name: str, started: datetime, finished: datetime, exit_code: int, output: bytes,
           previous: dict[str, Any] | None, backoff: tuple[float, float] | None
           ) -> dict[str, Any]:
    ok = exit_code == 0
    failures = 0 if ok else int((previous or {}).get("failures", 0)) + 1
    return {"name": name, "started": stamp(started), "finished": stamp(finished),
            "seconds": round((finished - started).total_seconds(), 1), "exit": exit_code,
            "ok": ok, "output": tail(output), "failures": failures,
            "next_after": next_after(failures, backoff, finished)}


def next_after(failures: int, backoff: tuple[float, float] | None,
               finished: datetime) -> str | None:
    """After the n-th failure in a row: `first` * 2**(n-1) seconds, at most `max`."""
    if backoff is None or failures == 0:
        return None
    first, most = backoff
    wait = min(first * 2 ** min(failures - 1, 40), most)
    return stamp(finished + timedelta(seconds=wait))


def backing_off(previous: dict[str, Any] | None, now: datetime) -> str | None:
    """The time before which a scheduled run is skipped; None: run."""
    until = (previous or {}).get("next_after")
    if not isinstance(until, str):
        return None
    try:
        return until if parse_stamp(until) > now else None
    except ValueError:
        return None
