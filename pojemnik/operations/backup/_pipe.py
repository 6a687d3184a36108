"""One container's output streamed into another's input, like a shell pipe with
pipefail, and more: the reader sees the end of its input only when the writer succeeded.
A dump that fails half-way kills restic before it could save a snapshot of half a dump."""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ...engine.backend import Engine
from ...errors import OperationError

END = b""
DEPTH = 64  # chunks in flight: a slow reader holds the writer back, memory stays small


@dataclass
class Piped:
    bytes: int = 0
    code: int | None = None
    errors: str = ""
    failure: BaseException | None = None
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)


def pipe(engine: Engine, source: tuple[str, list[str]], sink: tuple[str, list[str]],
         abort: Callable[[], None], output: Callable[[bytes], None]) -> Piped:
    """Run `source`'s command, its output into `sink`'s; `abort` kills the sink's reader
    (before it sees the end of its input) when the source fails. The sink's output goes
    to `output`; OperationError when either fails."""
    chunks: queue.Queue[bytes] = queue.Queue(DEPTH)
    piped = Piped()

    def produce() -> None:
        try:
            piped.code, piped.errors = engine.exec_stream(*source, (), _counting(piped, chunks))
        except BaseException as error:  # reported by the reader's side
            piped.failure = error
        finally:
            chunks.put(END)

    writer = threading.Thread(target=produce, daemon=True)
    writer.start()

    def feed() -> Iterator[bytes]:
        while chunk := chunks.get():
            yield chunk
        writer.join()
        if piped.failure is not None or piped.code != 0:
            abort()  # before the sink sees the end of its input
            raise OperationError(_failed(source[1], piped))

    try:
        code, errors = engine.exec_stream(*sink, feed(), output)
    finally:
        _drain(chunks, writer)
    if piped.failure is not None or piped.code != 0:
        raise OperationError(_failed(source[1], piped))
    if code != 0:
        raise OperationError(f"{' '.join(sink[1][:2])} failed: {errors.strip()[-600:]}")
    return piped


def _counting(piped: Piped, chunks: queue.Queue[bytes]) -> Callable[[bytes], None]:
    def put(data: bytes) -> None:
        if data:
            piped.bytes += len(data)
            piped.digest.update(data)
            chunks.put(data)
    return put


def _drain(chunks: queue.Queue[bytes], writer: threading.Thread) -> None:
    """A reader that stopped early must not leave the writer blocked on a full queue."""
    while writer.is_alive():
        try:
            chunks.get(timeout=0.1)
        except queue.Empty:
            continue


def _failed(command: list[str], piped: Piped) -> str:
    why = str(piped.failure) if piped.failure is not None else \
        f"exit code {piped.code}: {piped.errors.strip()[-600:] or 'no message'}"
    return (f"{' '.join(command[:2])} failed after {piped.bytes} bytes ({why}); no snapshot "
            "was saved of it")
