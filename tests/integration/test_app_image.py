"""The example app image's init (tini, then images/webserver-nginx/init.sh), run by itself: a
stop is graceful even in the app's first second, and a program that exits on its own
takes the container down, so the restart policy brings it back in plain sight."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import docker
import pytest
from docker.models.containers import Container
from docker.types import Mount

from .conftest import Copy

pytestmark = pytest.mark.integration


@pytest.fixture()
def app(client: docker.DockerClient, deployed: Copy) -> Iterator[Container]:
    """A container of the copy's app image with its config and code, on no network."""
    root = deployed.root
    container = client.containers.create(
        f"{deployed.project}/webserver-nginx:latest", network_mode="none",
        labels={"pojemnik.project": deployed.project},  # removed with the copy if left
        mounts=[Mount("/etc/webserver", str(root / "config/webserver-nginx"), "bind",
                      read_only=True),
                Mount("/srv/app", str(root / "www/app.localhost"), "bind", read_only=True)],
        tmpfs={"/tmp": "size=16m"})
    try:
        yield container
    finally:
        container.remove(force=True)


def until(app: Container, passes: Callable[[], bool], pause: float = 0.0) -> None:
    """Until `passes()`, every `pause` seconds; bounded (not a measure), with the logs."""
    deadline = time.monotonic() + 120
    while not passes():
        assert time.monotonic() < deadline, app.logs().decode(errors="replace")
        time.sleep(pause)


def init_runs(app: Container) -> bool:
    """Whether tini (PID 1) has started webserver-init: it sets up its signals first."""
    return app.exec_run(["sh", "-c", "grep -qsa '^/bin/bash' /proc/[0-9]*/cmdline"]).exit_code == 0


def test_a_stop_while_the_app_starts_is_graceful(app: Container) -> None:
    # Docker sends the stop signal once, and a PID 1 ignores what it has no handler for.
    # tini, PID 1, blocks signals from its first instructions and passes them on. The
    # bash init as PID 1 lost the SIGTERM of a stop right after the start in 21 of 30
    # tries here, and Docker killed it after the grace period (137); with tini, 1 in 100:
    # the runtime's own window before tini's first instructions, which this waits out.
    # The stop then lands while uWSGI loads the app, when it ignores TERM: the init says
    # it again until it goes. (Before its traps, the init dies of it: 143, mapped to 0.)
    app.start()
    until(app, lambda: init_runs(app))
    app.stop(timeout=30)
    app.reload()
    assert app.attrs["State"]["ExitCode"] == 0, app.logs().decode(errors="replace")


def test_a_program_that_exits_on_its_own_ends_the_container(app: Container) -> None:
    app.start()
    until(app, lambda: app.exec_run(["webserver-healthcheck"]).exit_code == 0, pause=0.2)
    assert app.exec_run(["sh", "-c", "kill -KILL $(cat /tmp/nginx.pid)"]).exit_code == 0
    status = app.wait(timeout=60)
    logs = app.logs().decode(errors="replace")
    assert status["StatusCode"] == 1, logs
    assert "webserver-init: a program exited on its own; stopping the other" in logs
