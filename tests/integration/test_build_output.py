"""What a person reads while images build: a line per image, the whole log on failure."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from .conftest import make_copy

pytestmark = pytest.mark.integration


def test_a_fresh_build_says_a_line_per_image(client: docker.DockerClient,
                                             scratch_repo: Path) -> None:
    copy = make_copy(client, scratch_repo)
    result = copy.invoke("images.build")
    lines = result.stdout.splitlines()
    assert len(lines) < 40, result.stdout
    assert "\x1b[" not in result.stdout + result.stderr  # not a terminal: no escape codes
    for image in ("proxy", "php", "webserver-nginx", "postgres"):
        assert any(line.startswith(f"[{image}] built (") for line in lines), result.stdout
        log = scratch_repo / ".pojemnik" / "logs" / copy.project / f"build-{image}.log"
        assert "Step 1/" in log.read_text()


def test_a_failed_build_shows_its_tail_and_keeps_the_whole_log(
        client: docker.DockerClient, scratch_repo: Path) -> None:
    copy = make_copy(client, scratch_repo)
    dockerfile = scratch_repo / "images" / "php" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text()
                          + "\nRUN echo 'the marker line' && exit 3\n")
    result = copy.invoke("images.build", "--name", "php", check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "[php] FAILED" in output
    assert "the marker line" in output and "last lines of the build" in output
    log = scratch_repo / ".pojemnik" / "logs" / copy.project / "build-php.log"
    assert str(log) in output and "the marker line" in log.read_text()
    assert "Traceback" not in output
