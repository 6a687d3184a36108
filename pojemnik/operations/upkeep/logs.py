"""`invoke logs` for several services at once: each one's timestamped lines read, merged
by time, and, with --follow, the new ones as they come from every service. One reader
thread per service and a bounded queue: a burst of lines waits, it never grows memory."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from ...planning.log_lines import Lines, LogLine, Selection, merged, parse

QUEUE_LINES = 1000  # lines waiting to be printed, at most


class LogSource(Protocol):
    def logs(self, name: str, follow: bool, tail: int | str, since: float | None = None,
             timestamps: bool = False) -> Iterator[bytes]: ...


def history(source: LogSource, containers: Mapping[str, str], tail: int | str,
            since: float | None, pick: Selection) -> list[LogLine]:
    """What each service logged (its last `tail` lines, after `since`), merged by time."""
    streams = [parse(service, b"".join(source.logs(name, False, tail, since, True)).decode(
        errors="replace")) for service, name in containers.items()]
    return [line for line in merged(streams) if pick.wants(line)]


def follow(source: LogSource, containers: Mapping[str, str], since: float,
           seen: Mapping[str, int], pick: Selection, emit: Callable[[LogLine], None]) -> None:
    """New lines from every service as they come, until each stream ends (its container
    stopped) or Ctrl-C; those stamped at or before `seen[service]` were shown already."""
    lines: queue.Queue[LogLine | BaseException | None] = queue.Queue(QUEUE_LINES)

    def read(service: str, name: str) -> None:
        cut, after = Lines(service), seen.get(service, 0)
        try:
            for chunk in source.logs(name, True, "all", since, True):
                for line in cut.feed(chunk):
                    if line.at > after:
                        lines.put(line)
        except Exception as error:  # handed to the printing thread, which raises it
            lines.put(error)
        finally:
            lines.put(None)

    for service, name in containers.items():
        threading.Thread(target=read, args=(service, name), daemon=True).start()
    running = len(containers)
    while running:
        item = lines.get()
        if item is None:
            running -= 1
        elif isinstance(item, BaseException):
            raise item
        elif pick.wants(item):
            emit(item)
