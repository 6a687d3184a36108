"""`invoke logs` across services: Docker's timestamped lines parsed, merged by time, picked
by --until and --grep, and shown with the service's name on each. Pure."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True, order=True)
class LogLine:
    at: int  # ns since the epoch, as Docker stamped it
    service: str = field(compare=False)
    text: str = field(compare=False)


def stamp_ns(stamp: str) -> int:
    """Docker's RFC 3339 stamp in UTC with up to nanoseconds (2026-12-07T14:35:30.1234Z)
    as ns since the epoch; ValueError when it is none."""
    whole, _, fraction = stamp.removesuffix("Z").partition(".")
    if not stamp.endswith("Z") or (fraction and not fraction.isdigit()) or len(fraction) > 9:
        raise ValueError(f"not a timestamp: {stamp!r}")
    seconds = datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
    return int(seconds) * 10**9 + int(fraction.ljust(9, "0"))


def parse(service: str, text: str) -> list[LogLine]:
    """Lines of `docker logs --timestamps`; a line without a stamp (a long line's tail)
    keeps the stamp before it."""
    found: list[LogLine] = []
    for raw in text.splitlines():
        stamp, _, rest = raw.partition(" ")
        try:
            found.append(LogLine(stamp_ns(stamp), service, rest))
        except ValueError:
            found.append(LogLine(found[-1].at if found else 0, service, raw))
    return found


def merged(streams: Iterable[Sequence[LogLine]]) -> Iterator[LogLine]:
    """Each service's lines are in time order already: one merge, stable for equal stamps."""
    return heapq.merge(*streams)


@dataclass(frozen=True)
class Selection:
    until: int | None = None  # ns since the epoch: no line after it
    grep: re.Pattern[str] | None = None

    def wants(self, line: LogLine) -> bool:
        if self.until is not None and line.at > self.until:
            return False
        return self.grep is None or self.grep.search(line.text) is not None


def pattern(text: str) -> re.Pattern[str]:
    """--grep's regular expression; ValueError naming what is wrong with it."""
    try:
        return re.compile(text)
    except re.error as error:
        raise ValueError(f"{text!r} is not a regular expression ({error}); for a plain "
                         "string, escape its special characters (\\. \\[ \\( ...)") from None


def shown(line: LogLine, width: int) -> str:
    return f"{line.service:<{width}} | {line.text}" if width else line.text


class Lines:
    """A stream's chunks cut into whole lines: a chunk may end inside a line."""

    def __init__(self, service: str) -> None:
        self.service, self.rest = service, ""

    def feed(self, chunk: bytes) -> list[LogLine]:
        text = self.rest + chunk.decode(errors="replace")
        whole, _, self.rest = text.rpartition("\n")
        return parse(self.service, whole)
