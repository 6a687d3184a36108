"""`logs` across services (pure): Docker's stamps to the nanosecond, lines merged by time,
--until and --grep, chunks cut into whole lines, and the merged follow's reading."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pojemnik.operations.upkeep.logs import follow, history
from pojemnik.planning.log_lines import Lines, LogLine, Selection, pattern, shown, stamp_ns

T = "2026-12-07T10:00:0{}.{}Z"


def test_stamps_keep_their_nanoseconds() -> None:
    assert stamp_ns("2026-12-07T10:00:00.000000001Z") - stamp_ns("2026-12-07T10:00:00Z") == 1
    assert stamp_ns("2026-12-07T10:00:00.5Z") == stamp_ns("2026-12-07T10:00:00Z") + 5 * 10**8
    for bad in ("10m", "2026-12-07T10:00:00", "2026-12-07T10:00:00.x1Z", "hello"):
        with pytest.raises(ValueError):
            stamp_ns(bad)


class Source:
    """What `docker logs --timestamps` would give for each container."""

    def __init__(self, text: dict[str, str]) -> None:
        self.text = text

    def logs(self, name: str, follow: bool, tail: int | str, since: float | None = None,
             timestamps: bool = False) -> Iterator[bytes]:
        assert timestamps
        data = self.text[name].encode()
        yield from (data[i:i + 7] for i in range(0, len(data), 7)) if follow else [data]


SOURCE = Source({"p-web": f"{T.format(1, 1)} one\n{T.format(3, 0)} three\n",
                 "p-db": f"{T.format(2, 5)} two\n{T.format(4, 0)} four\n"})
CONTAINERS = {"web": "p-web", "db": "p-db"}


def test_lines_merge_by_time_and_are_picked() -> None:
    lines = history(SOURCE, CONTAINERS, "all", None, Selection())
    assert [shown(line, 3) for line in lines] == ["web | one", "db  | two", "web | three",
                                                 "db  | four"]
    until = Selection(until=stamp_ns(T.format(2, 5)))
    assert [line.text for line in history(SOURCE, CONTAINERS, 10, None, until)] == \
        ["one", "two"]
    grep = Selection(grep=pattern("^t"))
    assert [line.text for line in history(SOURCE, CONTAINERS, 10, None, grep)] == \
        ["two", "three"]


def test_a_bad_pattern_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"'\[' is not a regular expression"):
        pattern("[")


def test_chunks_are_cut_into_whole_lines() -> None:
    cut = Lines("web")
    assert cut.feed(f"{T.format(1, 0)} hal".encode()) == []
    assert [line.text for line in cut.feed(b"f\ncontinued\n")] == ["half", "continued"]


def test_following_skips_what_was_shown_and_ends_with_the_streams() -> None:
    got: list[LogLine] = []
    follow(SOURCE, CONTAINERS, 0.0, {"web": stamp_ns(T.format(1, 1))}, Selection(),
           got.append)
    assert sorted(line.text for line in got) == ["four", "three", "two"]


def test_a_stream_that_fails_fails_the_follow() -> None:
    class Broken(Source):
        def logs(self, name: str, follow: bool, tail: int | str, since: float | None = None,
                 timestamps: bool = False) -> Iterator[bytes]:
            raise RuntimeError(f"{name} does not exist")
            yield b""

    with pytest.raises(RuntimeError, match="p-web does not exist"):
        follow(Broken({}), {"web": "p-web"}, 0.0, {}, Selection(), lambda line: None)
