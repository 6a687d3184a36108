"""`invoke logs` on a real engine (issue 21 item 4): every service's lines merged by time
with the service's name on each, --service, --grep, --until, --follow across services;
one service's lines as `docker logs` gives them; bad options refused before reading."""

from __future__ import annotations

import secrets
import subprocess
import threading
from collections.abc import Iterator

import docker
import pytest

from .conftest import INVOKE, REPO, Copy, make_copy, remove_projects

pytestmark = pytest.mark.integration

STACK = '''from pathlib import Path

from pojemnik import Network, Service, Settings, Stack


def declare(settings: Settings) -> Stack:
    sleeper = dict(image=settings["BASE_IMAGE"], command=["sleep", "infinity"],
                   stop_signal="SIGKILL")
    return Stack(
        project=settings["POJEMNIK_PROJECT"], root=Path(__file__).parent,
        base_image=settings["BASE_IMAGE"],
        networks=[Network("net", subnet=settings["SERVICES_SUBNET"])],
        services=[Service("web", networks={"net": 3}, **sleeper),
                  Service("worker", networks={"net": 4}, **sleeper)])
'''


@pytest.fixture(scope="module")
def two(client: docker.DockerClient, stale_cleaned: None,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    root = tmp_path_factory.mktemp("logs")
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    (root / "stack.py").write_text(STACK)
    (root / ".env.example").write_text("POJEMNIK_PROJECT=two\nBASE_IMAGE=debian:bookworm-slim\n"
                                       "SERVICES_SUBNET=10.0.31.0/24\n")
    copy = make_copy(client, root)
    try:
        copy.invoke("deploy")
        yield copy
    finally:
        remove_projects(client, copy.project)


def say(client: docker.DockerClient, copy: Copy, service: str, text: str) -> None:
    """A line in the service's log: written to its main process's standard output."""
    run = client.containers.get(f"{copy.project}-{service}").exec_run(
        ["sh", "-c", f"echo {text} > /proc/1/fd/1"])
    assert run.exit_code == 0, run.output


def stamp(client: docker.DockerClient, copy: Copy, service: str, text: str) -> str:
    lines = client.api.logs(f"{copy.project}-{service}", timestamps=True).decode().splitlines()
    return next(line.split(" ", 1)[0] for line in lines if line.endswith(text))


def test_lines_of_every_service_merged_by_time(client: docker.DockerClient, two: Copy) -> None:
    mark = secrets.token_hex(3)
    for service, word in (("web", "first"), ("worker", "second"), ("web", "third")):
        say(client, two, service, f"{word}-{mark}")
    merged = [line for line in two.invoke("logs").stdout.splitlines() if mark in line]
    assert merged == [f"web    | first-{mark}", f"worker | second-{mark}",
                      f"web    | third-{mark}"]
    # One service: its lines as before, without a name.
    alone = two.invoke("logs", "--service", "web").stdout.splitlines()
    assert [line for line in alone if mark in line] == [f"first-{mark}", f"third-{mark}"]
    both = two.invoke("logs", "--service", "web,worker", "--grep", f"^(second|third)-{mark}$")
    assert both.stdout.splitlines() == [f"worker | second-{mark}", f"web    | third-{mark}"]
    until = stamp(client, two, "worker", f"second-{mark}")
    upto = [line for line in two.invoke("logs", "--until", until).stdout.splitlines()
            if mark in line]
    assert upto == [f"web    | first-{mark}", f"worker | second-{mark}"]


def test_follow_streams_new_lines_from_every_service(client: docker.DockerClient,
                                                     two: Copy) -> None:
    mark = secrets.token_hex(3)
    follower = subprocess.Popen([*INVOKE, "logs", "--follow", "--tail", "0", "--grep", mark],
                                cwd=two.root, env=two.env, text=True, stdout=subprocess.PIPE)
    seen: list[str] = []

    def read() -> None:
        assert follower.stdout is not None
        for line in follower.stdout:
            seen.append(line.rstrip("\n"))
            if f"newer-{mark}" in line:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while not seen and reader.is_alive():  # until one shows, the follower is not on
            say(client, two, "web", f"ready-{mark}")
            reader.join(0.5)
        say(client, two, "worker", f"new-{mark}")
        say(client, two, "web", f"newer-{mark}")
        reader.join(120)
    finally:
        follower.terminate()
        follower.wait(30)
        reader.join(30)
        if follower.stdout is not None:
            follower.stdout.close()
    assert f"worker | new-{mark}" in seen and f"web    | newer-{mark}" in seen, seen
    assert seen.index(f"worker | new-{mark}") < seen.index(f"web    | newer-{mark}")


def test_bad_options_are_refused_before_anything_is_read(two: Copy) -> None:
    bad = two.invoke("logs", "--grep", "(", check=False)
    assert bad.returncode == 2 and "--grep '(' is not a regular expression" in bad.stderr
    both = two.invoke("logs", "--until", "10m", "--follow", check=False)
    assert both.returncode == 2 and "give one of them" in both.stderr
    when = two.invoke("logs", "--until", "yesterday", check=False)
    assert when.returncode == 2 and "--until 'yesterday' is neither" in when.stderr
    unknown = two.invoke("logs", "--service", "nosuch", check=False)
    assert unknown.returncode == 2 and "unknown service 'nosuch'" in unknown.stderr
