"""console.say from many threads at once (a wave's containers report in parallel)."""

from __future__ import annotations

import sys
import threading

import pytest

from pojemnik.console import say


def test_lines_said_from_parallel_threads_stay_whole(capsys: pytest.CaptureFixture[str]) -> None:
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to meet the race
    try:
        threads = [threading.Thread(target=lambda n=n: [say(f"container c{n}: line {i}")
                                                        for i in range(2000)])
                   for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(0.005)
    lines = capsys.readouterr().out.split("\n")
    assert lines.pop() == ""
    assert len(lines) == 6 * 2000
    assert all(line.startswith("container c") and line.count(":") == 1 for line in lines)



def test_a_listing_piped_into_head_ends_without_a_traceback() -> None:
    """`invoke --list | head -1`: the reader has gone when the listing is written."""
    import os
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    read_end, write_end = os.pipe()
    os.close(read_end)  # as head does once it has its line: every write meets a closed pipe
    try:
        listed = subprocess.run([sys.executable, "-m", "invoke", "--list"], cwd=repo,
                                stdout=write_end, stderr=subprocess.PIPE, text=True,
                                timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in listed.stderr and "BrokenPipe" not in listed.stderr, \
        listed.stderr
