"""Containers through the Docker API: create from a spec, exec, and read one as observed."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import docker
from docker.types import Healthcheck, LogConfig, Mount
from docker.utils.socket import STDERR, frames_iter

from ..declaration.units import memory_bytes
from ..planning.spec import ContainerSpec
from ..planning.state import ObservedContainer


def create_container(api: docker.APIClient, spec: ContainerSpec) -> str:
    """`docker create` + `network connect` for each further network (one per call
    on API 1.41), then `docker start`. The container is named `spec.name` (a start-first
    update passes a spec renamed to `<name>-next` and its standby addresses).

    Under load, runc (1.1.x) may answer a start "cannot start an already running
    container" and leave the engine believing the container never started (its
    process runs, `docker exec` refuses it). A container made a moment ago holds
    nothing yet: it is removed and made once more."""
    container_id = _create_and_start(api, spec)
    if container_id is not None:
        return container_id
    api.remove_container(spec.name, force=True)
    made_again = _create_and_start(api, spec)
    if made_again is None:
        raise docker.errors.APIError(f"{spec.name}: the runtime twice refused to start it "
                                     "(\"cannot start an already running container\")")
    return made_again


def start_container(api: docker.APIClient, ref: str) -> None:
    """`docker start`; runc's "already running" answer is accepted when the engine
    agrees that the container runs (see create_container)."""
    try:
        api.start(ref)
    except docker.errors.APIError as error:
        if not _runtime_says_already_running(error) or \
                not api.inspect_container(ref)["State"]["Running"]:
            raise


def _runtime_says_already_running(error: docker.errors.APIError) -> bool:
    return "cannot start an already running container" in str(error)


def _create_and_start(api: docker.APIClient, spec: ContainerSpec) -> str | None:
    """The new container's id, or None when runc's start refused it as already running."""
    first = spec.networks[0] if spec.networks else None
    networking = None
    if first is not None:
        networking = api.create_networking_config({
            first.network: api.create_endpoint_config(ipv4_address=first.ip,
                                                      aliases=first.aliases)})
    healthcheck = None
    if spec.healthcheck is not None:
        check = spec.healthcheck
        healthcheck = Healthcheck(
            test=["CMD", *check.test], interval=int(check.interval * 1e9),
            timeout=int(check.timeout * 1e9), retries=check.retries,
            start_period=int(check.start_period * 1e9))
    container = api.create_container(
        image=spec.image, name=spec.name, command=spec.command,
        environment=dict(spec.environment), labels=spec.labels, user=spec.user,
        ports=[(p.container, p.protocol) for p in spec.ports],
        host_config=host_config(api, spec), networking_config=networking,
        healthcheck=healthcheck, detach=True,
        stop_signal=spec.stop_signal, stop_timeout=round(spec.stop_grace),
    )
    for attachment in spec.networks[1:]:
        api.connect_container_to_network(container["Id"], attachment.network,
                                         ipv4_address=attachment.ip,
                                         aliases=attachment.aliases)
    try:
        api.start(container["Id"])
    except docker.errors.APIError as error:
        if _runtime_says_already_running(error):
            return None
        raise
    return str(container["Id"])


def host_config(api: docker.APIClient, spec: ContainerSpec) -> dict[str, Any]:
    limits = spec.limits
    return dict(api.create_host_config(
        port_bindings={f"{p.container}/{p.protocol}": (p.address, p.host) for p in spec.ports},
        mounts=[Mount(m.target, m.source, type=m.type, read_only=m.read_only)
                for m in spec.mounts],
        tmpfs=dict(spec.tmpfs),
        read_only=spec.read_only,
        cap_drop=spec.cap_drop, cap_add=list(spec.cap_add) or None,
        security_opt=spec.security_opt,
        mem_limit=memory_bytes(limits.memory),
        memswap_limit=spec.memory_swap,
        nano_cpus=int(limits.cpus * 1e9), pids_limit=limits.pids,
        restart_policy=_restart_policy(spec.restart),
        network_mode=spec.networks[0].network if spec.networks else "none",
        init=False,
        log_config=LogConfig(type=spec.logging.driver, config=dict(spec.logging.options)),
    ))


def _restart_policy(restart: str) -> dict[str, Any]:
    name, _, count = restart.partition(":")
    policy: dict[str, Any] = {"Name": "" if name == "no" else name}
    if count:
        policy["MaximumRetryCount"] = int(count)
    return policy


def exec_stream(api: docker.APIClient, name: str, command: list[str],
                stdin: Iterable[bytes], output: Callable[[bytes], None]) -> tuple[int, str]:
    """`docker exec -i`: stream `stdin` into the command while its output streams out.
    A command that exits before reading all of `stdin` (psql stopping at an error) is
    reported by its exit code and stderr, not by the broken pipe that follows."""
    run = api.exec_create(name, command, stdin=True, stdout=True, stderr=True)
    raw = api.exec_start(run["Id"], socket=True)
    sock: socket.socket = getattr(raw, "_sock", raw)
    failure: list[BaseException] = []  # from `stdin` itself
    unsent: list[OSError] = []  # the command no longer reads

    def feed() -> None:
        try:
            for chunk in stdin:
                try:
                    sock.sendall(chunk)
                except OSError as error:
                    unsent.append(error)
                    break
        except BaseException as error:  # reported below, after the output is read
            failure.append(error)
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)  # the command sees the end of its input
            close = getattr(stdin, "close", None)
            if unsent and close is not None:
                close()  # a generator's own cleanup (an SSH channel it reads from)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    errors = bytearray()
    try:
        for stream, data in frames_iter(raw, tty=False):
            if stream == STDERR:
                errors += data[:65536 - len(errors)]
            else:
                output(data)
    except ConnectionResetError:
        # Over SSH the relay's socket resets, after the whole output, when the command
        # ended with input unread: the engine tells whether it ended.
        if exit_code(api, run["Id"]) is None:
            raise
    finally:
        writer.join()
        raw.close()
        with contextlib.suppress(OSError):
            sock.close()
    if failure:
        raise failure[0]
    code = exit_code(api, run["Id"])
    if unsent and code == 0:
        raise unsent[0]  # exited "successfully" without its whole input
    return code if code is not None else -1, errors.decode(errors="replace")


def observed_container(row: dict[str, Any]) -> ObservedContainer:
    attached = (row.get("NetworkSettings") or {}).get("Networks") or {}
    # A running container has its IPAddress; one created but never started (or stopped)
    # only the address it asked for, in IPAMConfig.
    addresses = {name: (endpoint or {}).get("IPAddress")
                 or ((endpoint or {}).get("IPAMConfig") or {}).get("IPv4Address") or ""
                 for name, endpoint in attached.items()}
    return ObservedContainer(
        name=row["Names"][0].lstrip("/"), id=row["Id"], labels=row.get("Labels") or {},
        state=row["State"], image=row.get("ImageID", ""), networks=sorted(attached),
        addresses=addresses)


def exit_code(api: docker.APIClient, exec_id: str) -> int | None:
    """An exec's exit code, None while it runs; the engine may record the exit a moment
    after the output has ended, so ask for a few seconds."""
    for _ in range(50):
        state = api.exec_inspect(exec_id)
        if not state.get("Running") and state.get("ExitCode") is not None:
            return int(state["ExitCode"])
        time.sleep(0.1)
    return None


def port_holders(api: docker.APIClient, ports: Iterable[tuple[str, int, str]]
                 ) -> dict[tuple[str, int, str], tuple[str, str]]:
    """Which pojemnik container (name, project) publishes each busy port: another
    environment's running stack is named in the refusal, not "another program"."""
    wanted = set(ports)
    if not wanted:
        return {}
    found: dict[tuple[str, int, str], tuple[str, str]] = {}
    for row in api.containers(filters={"label": "pojemnik.project"}):
        name = (row.get("Names") or ["?"])[0].lstrip("/")
        project = (row.get("Labels") or {}).get("pojemnik.project", "")
        for port in row.get("Ports") or []:
            address = port.get("IP", "")
            for key in wanted:  # the same port, on the same or on every address
                if (key[1], key[2]) == (port.get("PublicPort"), port.get("Type")) and (
                        address in (key[0], "0.0.0.0", "::", "")):
                    found[key] = (name, project)
    return found
