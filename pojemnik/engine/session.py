"""The streams a one-off command talks to: what `run` and `exec` connect to the
container. Plain data, so the engine never reaches for the process's own terminal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol


class Sink(Protocol):
    """Where output goes: a binary stream (the terminal's), or lines said to a person."""

    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...


@dataclass(frozen=True)
class Session:
    tty: bool  # a terminal in the container (raw bytes both ways, Ctrl-C goes inside)
    stdin: BinaryIO | None  # streamed in until its end; None: the command reads nothing
    stdout: Sink
    stderr: Sink  # without a terminal the command's stderr stays apart
    size: tuple[int, int] | None = None  # the terminal's rows and columns, with tty
    timeout: float | None = None  # seconds; then the container is killed (DockerError)
