"""`history` as people read it: the audit log and the kept releases as tables that fit
the terminal (100 columns and up). The long column (what happened) wraps under itself;
the short ones stay on the first line. Pure: entries in, lines out."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

GAP = "  "
MIN_WHAT = 30  # narrower than this, WHAT wraps at this width anyway
WHO_WIDTH = 20  # a long user@host is cut: the JSON output keeps it whole


def short_time(when: str) -> str:
    """ISO 8601 (UTC, as the log writes it) as `2026-12-07 13:50`."""
    return when[:16].replace("T", " ") if len(when) >= 16 else when


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def compact(summary: str) -> str:
    """A deploy's counts without the zeros: "recreated 1, unchanged 3"."""
    head, semicolon, rest = summary.partition("; ")
    counts = [part for part in head.split(", ") if not re.fullmatch(r"[a-z ]+ 0", part)]
    return ", ".join(counts or [head]) + semicolon + rest


def describe(entry: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The entry's RESULT word and the paragraphs of its WHAT."""
    result = str(entry.get("result", ""))
    word, _, detail = result.partition(": ")
    summary = compact(str(entry.get("summary", "")))
    if word == "ok":
        return "ok", [summary]
    refused = entry.get("refused")
    if isinstance(refused, Mapping):
        lines = [f"refused by {refused.get('by')}; {refused.get('kept')} kept serving",
                 f"planned: {summary}"]
    else:
        lines = [detail or result, f"planned: {summary}"]
    done = entry.get("done")
    if isinstance(done, list):
        lines.append(f"done first: {', '.join(map(str, done))}" if done
                     else "nothing was changed")
    return word or result, lines


def log_lines(entries: Sequence[Mapping[str, Any]], width: int = 100) -> list[str]:
    """The audit log as a table: WHEN WHO KIND RESULT WHAT."""
    header = ["WHEN", "WHO", "KIND", "RESULT", "WHAT"]
    rows = []
    for entry in entries:
        result, what = describe(entry)
        rows.append(([short_time(str(entry.get("when", ""))),
                      cut(str(entry.get("who", "")), WHO_WIDTH), str(entry.get("kind", "")),
                      result], what))
    return wrapped_table(header, rows, width)


def wrapped_table(header: Sequence[str], rows: Sequence[tuple[list[str], list[str]]],
                  width: int) -> list[str]:
    """Columns as `docker ps` prints them; the last column's paragraphs wrap to what is
    left of `width`, each continuation indented under it."""
    widths = [max(len(x) for x in column)
              for column in zip(header[:-1], *(short for short, _ in rows), strict=True)]
    indent = sum(widths) + len(GAP) * len(widths)
    room = max(width - indent, MIN_WHAT)
    lines = [GAP.join([*(h.ljust(w) for h, w in zip(header, widths, strict=False)),
                       header[-1]])]
    for short, paragraphs in rows:
        wrapped = [piece for paragraph in paragraphs
                   for piece in (textwrap.wrap(paragraph, room, subsequent_indent="  ",
                                               break_on_hyphens=False) or [""])]
        first = GAP.join([*(x.ljust(w) for x, w in zip(short, widths, strict=True)),
                          wrapped[0]])
        lines.append(first.rstrip())
        lines += [" " * indent + piece for piece in wrapped[1:]]
    return lines


def release_rows(rows: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """The kept releases: SERVICE RELEASE DEPLOYED BY IMAGE (the tag and short id)."""
    return [[str(r["service"]), f"{r['release']}{' *' if r['running'] else ''}",
             short_time(str(r["deployed"])), cut(str(r["who"]), WHO_WIDTH),
             f"{r['tag']} ({str(r['image']).removeprefix('sha256:')[:12]})"] for r in rows]
