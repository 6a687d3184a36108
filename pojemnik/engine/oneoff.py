"""One-off commands through the Docker API: a new container attached before it
starts (so no output is lost), or an exec in the live one, with the caller's streams.

The container of `run_once` is removed whatever happens: its command's end, an error,
Ctrl-C (KeyboardInterrupt) or a lost connection.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import docker
from docker.types import Healthcheck
from docker.utils.socket import STDERR, frames_iter

from ..errors import DockerError
from ..planning.spec import ContainerSpec
from .containers import exit_code, host_config
from .session import Session


def run_once(api: docker.APIClient, spec: ContainerSpec, session: Session) -> int:
    """`docker run --rm [-i] [-t]`: the command's exit code."""
    container_id = _create(api, spec, session)
    try:
        raw = api.attach_socket(container_id, params={
            "stdin": 1 if session.stdin is not None else 0,
            "stdout": 1, "stderr": 1, "stream": 1})
        api.start(container_id)
        if session.tty and session.size is not None:
            with contextlib.suppress(docker.errors.APIError):
                api.resize(container_id, height=session.size[0], width=session.size[1])
        with _deadline(api, container_id, session.timeout) as killed:
            _pump(raw, session)
            code = int(api.wait(container_id).get("StatusCode", -1))
        if killed.is_set():
            raise DockerError(f"{spec.name}: still running after {session.timeout:g} s, "
                              "so it was killed")
        return code
    finally:
        with contextlib.suppress(docker.errors.APIError):
            api.remove_container(container_id, force=True, v=False)


@contextlib.contextmanager
def _deadline(api: docker.APIClient, container_id: str,
              timeout: float | None) -> Iterator[threading.Event]:
    """Kill the container once `timeout` has passed; the event says whether it was."""
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        with contextlib.suppress(docker.errors.APIError):
            api.kill(container_id)

    timer = threading.Timer(timeout, kill) if timeout is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        yield killed
    finally:
        if timer is not None:
            timer.cancel()


def exec_live(api: docker.APIClient, name: str, command: list[str], session: Session) -> int:
    """`docker exec [-i] [-t]` in the running container: the command's exit code."""
    run = api.exec_create(name, command, stdin=session.stdin is not None, tty=session.tty,
                          stdout=True, stderr=True)
    raw = api.exec_start(run["Id"], socket=True, tty=session.tty)
    if session.tty and session.size is not None:
        with contextlib.suppress(docker.errors.APIError):
            api.exec_resize(run["Id"], height=session.size[0], width=session.size[1])
    _pump(raw, session)
    code = exit_code(api, run["Id"])
    return code if code is not None else -1


def _create(api: docker.APIClient, spec: ContainerSpec, session: Session) -> str:
    """Created, not started; on the first network at once, the others connected after."""
    first = spec.networks[0] if spec.networks else None
    networking = None
    if first is not None:
        networking = api.create_networking_config({first.network: api.create_endpoint_config()})
    container = api.create_container(
        image=spec.image, name=spec.name, command=spec.command,
        environment=dict(spec.environment), labels=spec.labels, user=spec.user,
        host_config=host_config(api, spec), networking_config=networking,
        # The image's HEALTHCHECK would probe a server that a one-off never starts.
        healthcheck=Healthcheck(test=["NONE"]),
        # Not detached: StdinOnce, so the end of our input is the end of the command's.
        stdin_open=session.stdin is not None, tty=session.tty, detach=False,
        stop_signal=spec.stop_signal, stop_timeout=round(spec.stop_grace))
    container_id = str(container["Id"])
    try:
        for attachment in spec.networks[1:]:
            api.connect_container_to_network(container_id, attachment.network)
    except BaseException:
        api.remove_container(container_id, force=True)
        raise
    return container_id


def _pump(raw: Any, session: Session) -> None:
    """The session's input into the socket (in a thread), the output out, until the
    command closes it."""
    sock: socket.socket = getattr(raw, "_sock", raw)
    if session.stdin is not None:
        threading.Thread(target=_feed, args=(sock, session), daemon=True).start()
    try:
        for stream, data in frames_iter(raw, tty=session.tty):
            out = session.stderr if stream == STDERR else session.stdout
            out.write(data)
            out.flush()
    finally:
        with contextlib.suppress(OSError):
            raw.close()
        with contextlib.suppress(OSError):
            sock.close()


def _feed(sock: socket.socket, session: Session) -> None:
    assert session.stdin is not None
    fd = _fileno(session.stdin)
    try:
        while True:
            # os.read returns what a terminal has typed at once; a buffered read would
            # wait for a full block.
            chunk = os.read(fd, 4096) if fd is not None else session.stdin.read(4096)
            if not chunk:
                break
            sock.sendall(chunk)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)  # the command sees the end of its input
    except OSError:
        pass  # the command has ended and closed its side


def _fileno(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None
