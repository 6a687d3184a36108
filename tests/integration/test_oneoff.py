"""`invoke run` and `invoke exec` against the deployed example: output, exit codes,
the service's environment, secrets and networks, a terminal when there is one, and no
container left behind, also after Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import docker

from .conftest import INVOKE, Copy


def one_offs(client: docker.DockerClient, copy: Copy) -> list[str]:
    return [c["Names"][0].lstrip("/") for c in client.api.containers(
        all=True, filters={"label": [f"pojemnik.project={copy.project}",
                                     "pojemnik.kind=oneoff"]})]


def invoke(copy: Copy, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*INVOKE, *args], cwd=copy.root, env=copy.env, text=True,
                          capture_output=True, timeout=600, input=stdin,
                          stdin=subprocess.DEVNULL if stdin is None else None)


@contextmanager
def sleeping(copy: Copy) -> Iterator[subprocess.Popen[str]]:
    """`invoke run app` of a long sleep, once its command has started; interrupted with
    Ctrl-C (SIGINT) at the end if still running."""
    with subprocess.Popen([*INVOKE, "run", "app", "echo started; sleep 300"],
                          cwd=copy.root, env=copy.env, text=True, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        assert "started" in process.stdout.readline()  # the command runs inside
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=120)


def test_run_streams_both_outputs_and_returns_the_exit_code(
        deployed: Copy, client: docker.DockerClient) -> None:
    result = invoke(deployed, "run", "app", "echo to-out; echo to-err >&2; exit 3")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "to-out" in result.stdout and "to-err" in result.stderr
    assert "to-err" not in result.stdout
    assert one_offs(client, deployed) == []


def test_run_has_the_service_s_environment_secrets_and_networks(
        deployed: Copy, client: docker.DockerClient) -> None:
    probe = ("test -s /run/secrets/db_password && echo secret-mounted; echo db=$DB_NAME; "
             "python3 -c 'import socket; socket.create_connection((\"db\", 5432), 5); "
             "print(\"db-reached\")'")
    result = invoke(deployed, "run", "app", probe)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "secret-mounted" in result.stdout and "db=app" in result.stdout
    assert "db-reached" in result.stdout
    assert one_offs(client, deployed) == []


def test_run_passes_a_piped_standard_input_on(deployed: Copy) -> None:
    result = invoke(deployed, "run", "app", "tr a-z A-Z", stdin="piped in\n")
    assert result.returncode == 0, result.stderr
    assert "PIPED IN" in result.stdout


def test_run_gives_the_command_a_terminal_when_there_is_one(deployed: Copy) -> None:
    leader, follower = os.openpty()
    process = subprocess.Popen([*INVOKE, "run", "app", "tty; exit 5"], cwd=deployed.root,
                               env=deployed.env, stdin=follower, stdout=follower,
                               stderr=follower)
    os.close(follower)
    output = bytearray()
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal's last writer has gone
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=300) == 5, output.decode(errors="replace")
    assert b"/dev/pts/" in output


def test_ctrl_c_during_run_leaves_no_container(
        deployed: Copy, client: docker.DockerClient) -> None:
    with sleeping(deployed) as process:
        assert len(one_offs(client, deployed)) == 1
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) != 0
    assert one_offs(client, deployed) == []


def test_exec_runs_in_the_live_container(deployed: Copy, client: docker.DockerClient) -> None:
    live = client.api.inspect_container(f"{deployed.project}-app")["Id"]
    result = invoke(deployed, "exec", "app", "hostname; exit 4")
    assert result.returncode == 4, result.stdout + result.stderr
    assert live.startswith(result.stdout.strip().splitlines()[-1])


def test_plan_does_not_see_a_one_off(deployed: Copy) -> None:
    with sleeping(deployed):
        plan = deployed.invoke("plan", "--format", "json").stdout
        assert "-run-" not in plan
