"""One Docker engine through the Docker SDK: the only code that speaks Docker's API.

`DockerEngine` implements `backend.Engine`. Every SDK error (and a connection lost
under it, e.g. SSH) leaves this module as an `errors.DockerError` naming the engine.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import docker
import requests
from docker.types import IPAMConfig, IPAMPool

from ..declaration.model import LABEL_KIND, LABEL_PROJECT, LABEL_SERVICE
from ..errors import DockerError
from ..planning.oneoff import ONEOFF_KIND
from ..planning.project_images import StoredImage
from ..planning.spec import ContainerSpec, ImageSpec, NetworkSpec
from ..planning.state import Observed, ObservedImage, ObservedNetwork
from . import containers, exits, images, lock, nodes, oneoff, readiness, usage
from .backend import ContainerRow, ContainerUsage, HostPort, HostUsage, ImageRow, Lock, LockHolder
from .ports import local_port_free
from .swarm import lock as swarm_lock

if TYPE_CHECKING:
    from .backend import SwarmNode, SwarmSettings
    from .session import Session

PortFree = Callable[[str, int, str], bool]
F = TypeVar("F", bound=Callable[..., Any])
NOT_SERVING = (lock.LOCK_KIND, ONEOFF_KIND)  # the project's containers that are no service's


def _translated(method: F) -> F:
    """SDK and transport errors become DockerError, for plain calls and generators."""
    def translate(self: DockerEngine, error: Exception) -> DockerError:
        if isinstance(error, docker.errors.DockerException):
            return DockerError(f"the Docker engine ({self.where}) refused: {error}")
        return DockerError(f"lost the connection to the Docker engine ({self.where}): {error}")

    caught = (docker.errors.DockerException, requests.RequestException, ConnectionError)
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def generator(self: DockerEngine, *args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(self, *args, **kwargs)
            except caught as error:
                raise translate(self, error) from error
        return generator  # type: ignore[return-value]

    @functools.wraps(method)
    def plain(self: DockerEngine, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except caught as error:
            raise translate(self, error) from error
    return plain  # type: ignore[return-value]


def project_filter(project: str) -> dict[str, str]:
    return {"label": f"{LABEL_PROJECT}={project}"}


class DockerEngine:
    def __init__(self, client: docker.DockerClient, where: str = "local",
                 port_free: PortFree | None = None,
                 on_close: Callable[[], None] | None = None,
                 disk: usage.HostDisk | None = None) -> None:
        self.client = client
        self.api = client.api
        self.where = where
        # Whether a host port is free, asked on the engine's host (a remote one over SSH).
        self.port_free = port_free or local_port_free
        # Free space and sizes of paths on the engine's host (over SSH: `df`, `du`).
        self.disk = disk or usage.LocalDisk()
        self._on_close = on_close

    def close(self) -> None:
        self.client.close()
        if self._on_close is not None:
            self._on_close()

    # --- observe ----------------------------------------------------------------

    @_translated
    def observe(self, project: str, ports: Sequence[HostPort]) -> Observed:
        networks = [
            ObservedNetwork(
                name=n["Name"], id=n["Id"],
                subnets=[c["Subnet"] for c in (n.get("IPAM") or {}).get("Config") or []
                         if "Subnet" in c],
                internal=bool(n.get("Internal")), labels=n.get("Labels") or {},
            )
            for n in self.api.networks()
        ]
        rows = self.api.containers(all=True, filters=project_filter(project))
        observed_containers = [containers.observed_container(row) for row in rows
                               if (row.get("Labels") or {}).get(LABEL_KIND) not in NOT_SERVING]
        images: dict[str, ObservedImage] = {}
        for image in self.api.images():
            for tag in image.get("RepoTags") or []:
                images[tag] = ObservedImage(tag, image["Id"], image.get("Labels") or {},
                                            float(image.get("Created") or 0))
        volumes = [v["Name"] for v in
                   self.api.volumes(filters=project_filter(project)).get("Volumes") or []]
        own_ports = {(p.get("IP", ""), p.get("PublicPort"), p.get("Type"))
                     for row in rows for p in row.get("Ports") or [] if p.get("PublicPort")}
        busy = [port for port in ports
                if port not in own_ports and not self.port_free(*port)]
        memory = int(self.api.info().get("MemTotal") or 0)
        return Observed(networks, observed_containers, images, volumes, busy,
                        host_memory=memory or None,
                        port_holders=containers.port_holders(self.api, busy))

    @_translated
    def image_ids(self) -> dict[str, str]:
        return {tag: image["Id"] for image in self.api.images()
                for tag in image.get("RepoTags") or []}

    @_translated
    def list_images(self, tags: Iterable[str]) -> list[ImageRow]:
        wanted = set(tags)
        return [ImageRow(image.get("RepoTags") or [], image["Id"], int(image.get("Size") or 0),
                         int(image.get("Created") or 0))
                for image in self.api.images() if wanted & set(image.get("RepoTags") or [])]

    @_translated
    def tag_image(self, image: str, ref: str) -> None:
        repository, _, tag = ref.rpartition(":")
        self.api.tag(image, repository, tag)

    @_translated
    def remove_tag(self, ref: str) -> bool:
        """Docker refuses (False) to remove the last tag of an image a container uses."""
        return images.remove_tag(self.api, ref)

    @_translated
    def project_containers(self, project: str) -> list[ContainerRow]:
        rows = self.api.containers(all=True, filters=project_filter(project))
        return sorted(
            (ContainerRow(
                name=row["Names"][0].lstrip("/"),
                service=(row.get("Labels") or {}).get(LABEL_SERVICE, ""),
                image=row["Image"], state=row["State"], status=row["Status"],
                ports=", ".join(f"{p['IP']}:{p['PublicPort']}->{p['PrivatePort']}/{p['Type']}"
                                for p in row.get("Ports") or [] if p.get("PublicPort")))
             for row in rows if (row.get("Labels") or {}).get(LABEL_KIND) != lock.LOCK_KIND),
            key=lambda r: r.name)

    @_translated
    def container_usage(self, project: str) -> list[ContainerUsage]:
        return usage.container_usage(self.api, project)

    @_translated
    def host_usage(self, project: str) -> HostUsage:
        return usage.host_usage(self.api, project, self.disk)

    @_translated
    def nodes(self) -> list[SwarmNode]:
        return nodes.swarm_nodes(self.api, self.where)

    @_translated
    def swarm_settings(self) -> SwarmSettings:
        return nodes.swarm_settings(self.api)

    # --- images -----------------------------------------------------------------

    @_translated
    def build(self, spec: ImageSpec, on_line: Callable[[str], None],
              nocache: bool = False) -> str:
        return images.build(self.api, spec, on_line, nocache)

    @_translated
    def stored_images(self) -> list[StoredImage]:
        return images.stored_images(self.api)

    @_translated
    def pull(self, ref: str) -> None:
        self.client.images.pull(ref)

    @_translated
    def import_rootfs(self, tarball: Path, ref: str, changes: list[str]) -> str:
        repository, _, tag = ref.rpartition(":") if ":" in ref.split("/")[-1] else (ref, "", "")
        result = self.api.import_image_from_file(str(tarball), repository=repository,
                                                 tag=tag or "latest", changes=changes)
        return str(result)

    @_translated
    def save_image(self, tag: str) -> Iterator[bytes]:
        yield from self.api.get_image(tag, chunk_size=1 << 20)

    @_translated
    def load_image(self, chunks: Iterable[bytes]) -> None:
        for _ in self.api.load_image(chunks):
            pass

    # --- networks and volumes ---------------------------------------------------

    @_translated
    def create_network(self, spec: NetworkSpec) -> None:
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=spec.subnet, gateway=spec.gateway)])
        self.api.create_network(spec.name, driver="bridge", ipam=ipam, internal=spec.internal,
                                labels=spec.labels, check_duplicate=True)

    @_translated
    def remove_network(self, name: str) -> None:
        """Remove a network after removing this project's containers on it (volumes stay).
        Anyone else's container attached makes the engine refuse, which is reported."""
        network = self.api.inspect_network(name)
        project = (network.get("Labels") or {}).get(LABEL_PROJECT)
        for endpoint in (network.get("Containers") or {}).values():
            labels = self.api.inspect_container(endpoint["Name"])["Config"]["Labels"] or {}
            if project and labels.get(LABEL_PROJECT) == project:
                self.remove_container(endpoint["Name"])
        self.api.remove_network(name)

    @_translated
    def remove_networks(self, project: str) -> list[str]:
        return exits.remove_networks(self.api, project)

    def watch_exits(self, project: str) -> exits.ExitWatch:
        return exits.ExitWatch(self.api, project)

    @_translated
    def create_volume(self, name: str, labels: dict[str, str]) -> None:
        self.api.create_volume(name=name, labels=labels)

    @_translated
    def remove_volumes(self, project: str) -> list[str]:
        found = self.api.volumes(filters=project_filter(project))
        removed = []
        for volume in found.get("Volumes") or []:
            self.api.remove_volume(volume["Name"])
            removed.append(volume["Name"])
        return removed

    # --- containers -------------------------------------------------------------

    @_translated
    def create_container(self, spec: ContainerSpec) -> str:
        return containers.create_container(self.api, spec)

    @_translated
    def start(self, name: str) -> None:
        containers.start_container(self.api, name)

    @_translated
    def remove_container(self, name: str) -> None:
        """Stop gracefully (its own stop signal and grace period), then remove. Volumes stay."""
        try:
            self.api.stop(name)
            self.api.remove_container(name, v=False, force=True)
        except docker.errors.NotFound:
            pass

    @_translated
    def stop(self, name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.api.stop(name)

    @_translated
    def rename(self, name: str, new_name: str) -> None:
        self.api.rename(name, new_name)

    @_translated
    def addresses(self, name: str) -> dict[str, str] | None:
        try:
            networks = self.api.inspect_container(name)["NetworkSettings"]["Networks"] or {}
        except docker.errors.NotFound:
            return None
        return {net: info.get("IPAddress", "") for net, info in networks.items()}

    @_translated
    def state(self, name: str) -> str | None:
        try:
            return str(self.api.inspect_container(name)["State"]["Status"])
        except docker.errors.NotFound:
            return None

    @_translated
    def processes(self, name: str) -> set[str]:
        top = self.api.top(name)
        column = (top.get("Titles") or []).index("PID")
        return {str(row[column]) for row in top.get("Processes") or []}

    @_translated
    def container_id(self, name: str) -> str:
        return str(self.api.inspect_container(name)["Id"])

    @_translated
    def wait_ready(self, name: str, timeout: float) -> str:
        return readiness.wait_ready(self.api, name, timeout)

    @_translated
    def logs(self, name: str, follow: bool, tail: int | str,
             since: float | None = None, timestamps: bool = False) -> Iterator[bytes]:
        window: dict[str, Any] = {"tail": tail, "timestamps": timestamps}
        if since is not None:
            window["since"] = since
        try:
            if follow:
                yield from self.api.logs(name, stream=True, follow=True, **window)
            else:
                yield self.api.logs(name, **window)
        except docker.errors.NotFound as error:
            raise DockerError(f"{name} does not exist; `invoke deploy` starts it") from error

    @_translated
    def exec(self, name: str, command: list[str]) -> tuple[int, str]:
        run = self.api.exec_create(name, command, stdout=True, stderr=True)
        output = self.api.exec_start(run["Id"]).decode(errors="replace")
        return int(self.api.exec_inspect(run["Id"])["ExitCode"]), output

    @_translated
    def exec_stream(self, name: str, command: list[str], stdin: Iterable[bytes],
                    output: Callable[[bytes], None]) -> tuple[int, str]:
        return containers.exec_stream(self.api, name, command, stdin, output)

    @_translated
    def run_once(self, spec: ContainerSpec, session: Session) -> int:
        return oneoff.run_once(self.api, spec, session)

    @_translated
    def exec_live(self, name: str, command: list[str], session: Session) -> int:
        return oneoff.exec_live(self.api, name, command, session)

    # --- the project's lock ------------------------------------------------------

    @_translated
    def take_lock(self, project: str, image: str, holder: LockHolder,
                  cluster: bool = False) -> Lock | LockHolder:
        if cluster:
            return swarm_lock.take(self.api, project, image, holder)
        return lock.take(self.api, project, image, holder)

    @_translated
    def lock_holder(self, project: str, cluster: bool = False) -> LockHolder | None:
        found = lock.holder(self.api, project)
        return found or (swarm_lock.holder(self.api, project) if cluster else None)

    @_translated
    def break_lock(self, project: str, cluster: bool = False) -> LockHolder | None:
        return swarm_lock.break_lock(self.api, project, cluster)

