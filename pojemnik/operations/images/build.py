"""Building the plan's images: in parallel, one line per image for people, the whole
builder output in a log file per image (its tail shown when a build fails)."""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ...console import BuildBoard, Say
from ...engine.backend import Engine
from ...errors import DockerError
from ...planning.spec import ImageSpec

BUILD_WORKERS = 2  # a small server has few cores; more parallel builds only thrash
TAIL = 25


def build_images(engine: Engine, builds: list[tuple[ImageSpec, bool]], say: Say,
                 log_dir: Path, verbose: bool = False) -> None:
    """Build every (image, no-cache) pair; raises the first failure with its log's tail."""
    log_dir.mkdir(parents=True, exist_ok=True)
    board = BuildBoard(say)
    try:
        with ThreadPoolExecutor(max_workers=BUILD_WORKERS) as pool:
            futures = [pool.submit(_build_one, engine, image, fresh, board, log_dir, say,
                                   verbose) for image, fresh in builds]
            for future in futures:
                future.result()
    finally:
        board.close()


def _build_one(engine: Engine, image: ImageSpec, fresh: bool, board: BuildBoard,
               log_dir: Path, say: Say, verbose: bool) -> None:
    log = log_dir / f"build-{image.name}.log"
    tail: deque[str] = deque(maxlen=TAIL)
    board.start(image.name, f"{image.tag}{' (no cache)' if fresh else ''}")
    with log.open("w", encoding="utf-8") as handle:
        handle.write(f"# {image.tag} from {image.context} at {time.ctime()}\n")

        def on_line(line: str) -> None:
            handle.write(line + "\n")
            tail.append(line)
            board.step(image.name, line)
            if verbose:
                say(f"[{image.name}] {line}")

        try:
            engine.build(image, on_line, fresh)
        except DockerError as error:
            board.finish(image.name, ok=False)
            handle.write(f"# failed: {error}\n")
            shown = "\n".join(f"  {line}" for line in tail)
            raise DockerError(f"{error}\nlast lines of the build:\n{shown}\n"
                              f"the whole build log: {log}") from error
    board.finish(image.name, ok=True)
