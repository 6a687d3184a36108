"""The one boundary to the Docker engine, through the Docker SDK.

Everything above this module works on plain data (`state`, `spec`, `plan`);
everything that reads or changes the engine goes through `Engine`.
"""

from __future__ import annotations

import errno
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .hashing import context_hash, paths_hash
from .local_state import LocalState
from .model import LABEL_PROJECT, Stack
from .spec import ContainerSpec, ImageSpec, NetworkSpec, image_spec, memory_bytes
from .state import Observed, ObservedContainer, ObservedImage, ObservedNetwork

if TYPE_CHECKING:
    import docker

Say = Callable[[str], None]


class EngineError(Exception):
    """Something the engine refused or that failed while applying; the message says what."""


@dataclass(frozen=True)
class ContainerRow:
    name: str
    service: str
    image: str
    state: str
    status: str
    ports: str


PortFree = Callable[[str, int, str], bool]


class Engine:
    def __init__(self, client: docker.DockerClient, port_free: PortFree | None = None) -> None:
        self.client = client
        self.api = client.api
        # Whether a host port is free, asked on the engine's host (a remote one over SSH).
        self.port_free = port_free or _port_free

    @classmethod
    def connect(cls, base_url: str | None = None) -> Engine:
        import docker  # lazily: `invoke --list` must not pay for it

        try:
            client = (docker.DockerClient(base_url=base_url) if base_url
                      else docker.from_env())
            client.ping()
        except docker.errors.DockerException as error:
            raise EngineError(
                f"cannot reach the Docker engine ({error}); is it running, and may this "
                "user use it (group `docker`)?") from error
        return cls(client)

    # --- observe ----------------------------------------------------------------

    def observe(self, stack: Stack) -> Observed:
        project = {"label": f"{LABEL_PROJECT}={stack.project}"}
        networks = [
            ObservedNetwork(
                name=n["Name"], id=n["Id"],
                subnets=[c["Subnet"] for c in (n.get("IPAM") or {}).get("Config") or []
                         if "Subnet" in c],
                internal=bool(n.get("Internal")), labels=n.get("Labels") or {},
            )
            for n in self.api.networks()
        ]
        rows = self.api.containers(all=True, filters=project)
        containers = [
            ObservedContainer(
                name=row["Names"][0].lstrip("/"), id=row["Id"], labels=row.get("Labels") or {},
                state=row["State"], health=_health(row.get("Status", "")),
                image=row.get("ImageID", ""),
                networks=sorted((row.get("NetworkSettings") or {}).get("Networks") or {}),
            )
            for row in rows
        ]
        images: dict[str, ObservedImage] = {}
        for image in self.api.images():
            for tag in image.get("RepoTags") or []:
                images[tag] = ObservedImage(tag, image["Id"], image.get("Labels") or {},
                                            float(image.get("Created") or 0))
        volumes = [v["Name"] for v in self.api.volumes(filters=project).get("Volumes") or []]
        base = images.get(stack.base_image)
        hashes = {}
        for image in stack.images:
            spec = image_spec(stack, image.name)
            if Path(spec.context).is_dir():
                hashes[image.name] = context_hash(Path(spec.context), spec.dockerfile,
                                                  spec.build_args, base.id if base else "")
        own_ports = {
            (p.get("IP", ""), p.get("PublicPort"), p.get("Type"))
            for row in rows for p in row.get("Ports") or [] if p.get("PublicPort")
        }
        busy = [
            (port.address, port.host, port.protocol)
            for service in stack.services for port in service.ports
            if (port.address, port.host, port.protocol) not in own_ports
            and not self.port_free(port.address, port.host, port.protocol)
        ]
        secrets = [s.name for s in stack.secrets if stack.secret_path(s.name).is_file()]
        config = {s.name: paths_hash(stack.root, s.watched()) for s in stack.services
                  if s.reload is not None}
        applied = LocalState.load(stack.state_path()).applied_config
        return Observed(networks, containers, images, volumes, busy, hashes, secrets,
                        config, applied)

    # --- images -----------------------------------------------------------------

    def build(self, spec: ImageSpec, say: Say, nocache: bool = False) -> str:
        """Build one image, streaming the builder's output line by line."""
        say(f"[{spec.name}] building {spec.tag} from {spec.context}")
        image_id = ""
        stream = self.api.build(
            path=spec.context, dockerfile=spec.dockerfile, tag=spec.tag,
            buildargs=spec.build_args, labels=spec.labels, rm=True, forcerm=True,
            nocache=nocache, pull=False, decode=True,
        )
        for chunk in stream:
            if "error" in chunk:
                raise EngineError(f"building {spec.tag} failed: {chunk['error'].strip()}")
            for line in str(chunk.get("stream", "")).splitlines():
                if line.strip():
                    say(f"[{spec.name}] {line}")
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
        return image_id

    def import_rootfs(self, tarball: Path, ref: str, changes: list[str]) -> str:
        repository, _, tag = ref.rpartition(":") if ":" in ref.split("/")[-1] else (ref, "", "")
        result = self.api.import_image_from_file(str(tarball), repository=repository,
                                                 tag=tag or "latest", changes=changes)
        return str(result)

    def image_ids(self) -> dict[str, str]:
        return {tag: image["Id"] for image in self.api.images()
                for tag in image.get("RepoTags") or []}

    def list_images(self, stack: Stack) -> list[dict[str, Any]]:
        wanted = {stack.image_tag(i.name) for i in stack.images} | {stack.base_image}
        return [image for image in self.api.images()
                if wanted & set(image.get("RepoTags") or [])]

    # --- networks and volumes ---------------------------------------------------

    def create_network(self, spec: NetworkSpec) -> None:
        from docker.types import IPAMConfig, IPAMPool

        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=spec.subnet, gateway=spec.gateway)])
        self.api.create_network(spec.name, driver="bridge", ipam=ipam, internal=spec.internal,
                                labels=spec.labels, check_duplicate=True)

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

    def create_volume(self, name: str, labels: dict[str, str]) -> None:
        self.api.create_volume(name=name, labels=labels)

    def remove_networks(self, project: str) -> list[str]:
        removed = []
        for network in self.api.networks(filters={"label": f"{LABEL_PROJECT}={project}"}):
            self.api.remove_network(network["Id"])
            removed.append(network["Name"])
        return removed

    def remove_volumes(self, project: str) -> list[str]:
        found = self.api.volumes(filters={"label": f"{LABEL_PROJECT}={project}"})
        removed = []
        for volume in found.get("Volumes") or []:
            self.api.remove_volume(volume["Name"])
            removed.append(volume["Name"])
        return removed

    # --- containers -------------------------------------------------------------

    def create_container(self, spec: ContainerSpec) -> str:
        """`docker create` + `network connect` for each further network (one per call
        on API 1.41), then `docker start`."""
        from docker.types import Healthcheck, Mount

        api = self.api
        first = spec.networks[0] if spec.networks else None
        others = spec.networks[1:]
        networking = None
        if first is not None:
            networking = api.create_networking_config({
                first.network: api.create_endpoint_config(ipv4_address=first.ip,
                                                          aliases=first.aliases)})
        limits = spec.limits
        host_config = api.create_host_config(
            port_bindings={f"{p.container}/{p.protocol}": (p.address, p.host)
                           for p in spec.ports},
            mounts=[Mount(m.target, m.source, type=m.type, read_only=m.read_only)
                    for m in spec.mounts],
            tmpfs=dict(spec.tmpfs),
            read_only=spec.read_only,
            cap_drop=["ALL"], cap_add=list(spec.cap_add) or None,
            security_opt=["no-new-privileges:true"],
            mem_limit=memory_bytes(limits.memory), memswap_limit=memory_bytes(limits.memory),
            nano_cpus=int(limits.cpus * 1e9), pids_limit=limits.pids,
            restart_policy=_restart_policy(spec.restart),
            network_mode=first.network if first else "none",
            init=False,
        )
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
            host_config=host_config, networking_config=networking, healthcheck=healthcheck,
            detach=True,
        )
        for attachment in others:
            api.connect_container_to_network(container["Id"], attachment.network,
                                             ipv4_address=attachment.ip,
                                             aliases=attachment.aliases)
        api.start(container["Id"])
        return str(container["Id"])

    def container_id(self, name: str) -> str:
        return str(self.api.inspect_container(name)["Id"])

    def start(self, name: str) -> None:
        self.api.start(name)

    def remove_container(self, name: str) -> None:
        """Stop gracefully (SIGTERM, then 10 s), then remove. Volumes stay."""
        import docker

        try:
            self.api.stop(name, timeout=10)
            self.api.remove_container(name, v=False, force=True)
        except docker.errors.NotFound:
            pass

    def wait_healthy(self, name: str, timeout: float = 180.0) -> None:
        """Until the container is healthy (or running, with no healthcheck)."""
        deadline = time.monotonic() + timeout
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = self.api.inspect_container(name)["State"]
            health = (state.get("Health") or {}).get("Status")
            if state["Status"] in ("exited", "dead"):
                break
            if health == "healthy" or (health is None and state["Status"] == "running"):
                return
            if health == "unhealthy":
                break
            time.sleep(0.5)
        logs = self.api.logs(name, tail=20).decode(errors="replace").rstrip()
        checks = (state.get("Health") or {}).get("Log") or []
        last_check = checks[-1]["Output"].strip() if checks else ""
        detail = f"state {state.get('Status')}, health {(state.get('Health') or {}).get('Status')}"
        raise EngineError(
            f"{name} did not become healthy ({detail}).\n"
            + (f"last healthcheck output: {last_check}\n" if last_check else "")
            + (f"last log lines:\n{logs}" if logs else "no log output"))

    def project_containers(self, project: str) -> list[ContainerRow]:
        rows = self.api.containers(all=True, filters={"label": f"{LABEL_PROJECT}={project}"})
        return sorted(
            (ContainerRow(
                name=row["Names"][0].lstrip("/"),
                service=(row.get("Labels") or {}).get("pojemnik.service", ""),
                image=row["Image"], state=row["State"], status=row["Status"],
                ports=", ".join(f"{p['IP']}:{p['PublicPort']}->{p['PrivatePort']}/{p['Type']}"
                                for p in row.get("Ports") or [] if p.get("PublicPort")))
             for row in rows),
            key=lambda r: r.name)

    def logs(self, name: str, follow: bool, tail: int | str) -> Iterator[bytes]:
        if follow:
            yield from self.api.logs(name, stream=True, follow=True, tail=tail, timestamps=False)
        else:
            yield self.api.logs(name, tail=tail)

    def exec(self, name: str, command: list[str]) -> tuple[int, str]:
        run = self.api.exec_create(name, command, stdout=True, stderr=True)
        output = self.api.exec_start(run["Id"]).decode(errors="replace")
        return int(self.api.exec_inspect(run["Id"])["ExitCode"]), output


def _health(status: str) -> str | None:
    match = re.search(r"\((healthy|unhealthy|health: starting)\)", status)
    if not match:
        return None
    return "starting" if match.group(1) == "health: starting" else match.group(1)


def _restart_policy(restart: str) -> dict[str, Any]:
    name, _, count = restart.partition(":")
    policy: dict[str, Any] = {"Name": "" if name == "no" else name}
    if count:
        policy["MaximumRetryCount"] = int(count)
    return policy


def _port_free(address: str, port: int, protocol: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as probe:
        # As servers (and docker-proxy) do: a port whose last connections linger in
        # TIME_WAIT is free to listen on again.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            # Only "in use" means busy; e.g. an address not on this host is for Docker to judge.
            return error.errno != errno.EADDRINUSE
    return True

