"""Resolve the declaration into exact Swarm objects: services, configs, secrets.

Like `spec.py` for one host: what the Swarm plan compares with the manager, what the
engine hands to Docker, and what `plan --format bash` prints, from one source. Config
and secret names carry a hash of their content, so a changed file is a new name and the
services that mount it roll. Pure; call on a validated stack.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

from ...declaration.model import (
    LABEL_SERVICE,
    Bind,
    Healthcheck,
    Limits,
    SecretMount,
    Service,
    Stack,
    Tmpfs,
    VolumeMount,
)
from ...declaration.swarm import GLOBAL
from ...declaration.units import memory_bytes
from ...declaration.validate.swarm import (
    data_of,
    endpoint_mode,
    publish_mode,
    translated_environment,
    update_order,
)
from ..hardening import CAP_DROP
from ..logging_policy import LogSpec, log_spec
from ..spec import MountSpec, labels, volume_labels
from ..upstreams import RESOLVER_FILE, render_resolver, render_swarm_upstream
from .state import SwarmState

LABEL_PATH = "pojemnik.path"  # a config's repository path
LABEL_IMAGE = "pojemnik.image"  # the tag a service's image id was taken from
MAX_NAME = 64  # Swarm's limit for config and secret names
NOT_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
EMPTY = hashlib.sha256(b"\n").hexdigest()  # what an empty file's config holds


@dataclass(frozen=True)
class ConfigRef:
    name: str  # engine name: <project>-<path>-<content hash>
    path: str  # repository path; for a generated file, where pojemnik keeps it
    target: str  # absolute path in the container
    mode: int = 0o444
    content: str | None = None  # a generated file's content (upstreams); None: read `path`


@dataclass(frozen=True)
class SecretRef:
    name: str  # engine name: <project>-<secret>-<value hash>
    secret: str  # the declared secret
    target: str  # in the container: a name under /run/secrets/, or an absolute path


@dataclass(frozen=True)
class PublishedPort:
    published: int
    target: int
    protocol: str
    mode: str  # "host" | "ingress"


@dataclass(frozen=True)
class NetworkRef:
    network: str  # engine name
    aliases: list[str]


@dataclass(frozen=True)
class ServiceSpec:
    service: str
    name: str
    image: str  # the tag
    image_id: str  # what the tasks run: the manager's id of the tag ("": not built yet)
    command: list[str] | None
    environment: dict[str, str]
    user: str | None
    read_only: bool
    cap_add: list[str]
    cap_drop: list[str]
    healthcheck: Healthcheck | None
    stop_signal: str | None
    stop_grace: float
    limits: Limits
    restart: str  # restart condition: "any", "on-failure", "none"
    networks: list[NetworkRef]
    ports: list[PublishedPort]
    endpoint_mode: str
    mode: str  # "replicated" | "global"
    replicas: int
    constraints: list[str]
    mounts: list[MountSpec]  # volumes and writable binds
    tmpfs: dict[str, tuple[int, int]]  # target -> (size in bytes, mode)
    configs: list[ConfigRef]
    secrets: list[SecretRef]
    update_order: str  # "start-first" | "stop-first"
    monitor: float  # seconds each updated task is watched before the update goes on
    logging: LogSpec = field(default_factory=LogSpec)
    labels: dict[str, str] = field(default_factory=dict)
    volume_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # by volume
    ready_timeout: float = 120.0  # not in the fingerprint: changing it changes no task

    def fingerprint(self) -> dict[str, str]:
        """A short hash per field that, changed, updates the service (kept in a label)."""
        data = asdict(self)
        for key in ("labels", "ready_timeout", "volume_labels"):
            data.pop(key)
        data["configs"] = [(c["name"], c["target"], c["mode"]) for c in data["configs"]]
        return {key: _digest(value)[:12] for key, value in sorted(data.items())}

    @property
    def tasks(self) -> int | None:
        """Tasks when converged; None for a global service (one per usable node)."""
        return None if self.mode == GLOBAL else self.replicas


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def content_name(project: str, what: str, digest: str) -> str:
    """`<project>-<what>-<hash>` within Swarm's 64 characters: a long `what` keeps its
    end (the file name), since the hash already tells contents apart."""
    suffix = f"-{digest[:10]}" if digest else "-pending"
    room = MAX_NAME - len(project) - 1 - len(suffix)
    slug = NOT_NAME.sub("-", what.replace("/", "-"))[-room:].lstrip("-_.") or "file"
    return f"{project}-{slug}{suffix}"


def service_configs(stack: Stack, service: Service, state: SwarmState) -> list[ConfigRef]:
    """Every file under the service's read-only binds, at its place under the target, and
    the proxy's upstream files, generated for a Swarm."""
    refs: list[ConfigRef] = []
    for mount in service.mounts:
        if not isinstance(mount, Bind) or not mount.read_only:
            continue
        source = mount.source.rstrip("/")
        for path, found in sorted(state.files.items()):
            if path == source:
                target = mount.target
            elif path.startswith(source + "/"):
                target = mount.target.rstrip("/") + path[len(source):]
            else:
                continue
            mode = 0o555 if found.executable else 0o444
            if found.size == 0:  # Swarm refuses an empty config: one newline instead
                refs.append(ConfigRef(content_name(stack.project, path, EMPTY), path, target,
                                      mode, content="\n"))
            else:
                refs.append(ConfigRef(content_name(stack.project, path, found.digest), path,
                                      target, mode))
    if service.upstreams is not None:
        directory = stack.upstreams_dir()
        files = {f"{name}.conf": render_swarm_upstream(name, port)
                 for name, port in sorted(service.upstreams.ports.items())}
        files[RESOLVER_FILE] = render_resolver()
        for file, content in sorted(files.items()):
            digest = hashlib.sha256(content.encode()).hexdigest()
            path = f"{directory}/{file}"
            refs.append(ConfigRef(content_name(stack.project, f"upstreams-{file}", digest),
                                  path, f"{service.upstreams.target.rstrip('/')}/{file}",
                                  content=content))
    return refs


def service_secrets(stack: Stack, service: Service, state: SwarmState) -> list[SecretRef]:
    refs = []
    for mount in service.mounts:
        if isinstance(mount, SecretMount):
            digest = state.secret_digests.get(mount.secret, "")
            path = mount.path
            target = path.removeprefix("/run/secrets/") if path.count("/") == 3 else path
            refs.append(SecretRef(content_name(stack.project, mount.secret, digest),
                                  mount.secret, target))
    return refs


def pin(stack: Stack, service: Service, state: SwarmState) -> list[str]:
    """A service that keeps data runs on one node: its declared placement, else the
    manager the deploy goes through (where a single server's data already is)."""
    if not data_of(service) or service.placement or not state.node_id:
        return []
    return [f"node.id=={state.node_id}"]


def restart_condition(restart: str) -> str:
    policy = restart.split(":")[0]
    return {"no": "none", "on-failure": "on-failure"}.get(policy, "any")


def service_spec(stack: Stack, service: Service, state: SwarmState,
                 image_id: str) -> ServiceSpec:
    mounts: list[MountSpec] = []
    tmpfs: dict[str, tuple[int, int]] = {}
    volumes: dict[str, dict[str, str]] = {}
    for mount in service.mounts:
        if isinstance(mount, VolumeMount):
            name = stack.volume_name(mount.volume)
            mounts.append(MountSpec("volume", name, mount.target, mount.read_only))
            volumes[name] = volume_labels(stack, mount.volume)
        elif isinstance(mount, Bind) and not mount.read_only:
            mounts.append(MountSpec("bind", stack.host_path(mount.source), mount.target, False))
        elif isinstance(mount, Tmpfs):
            tmpfs[mount.target] = (memory_bytes(mount.size), int(mount.mode, 8))
    mode = publish_mode(stack, service)
    return ServiceSpec(
        service=service.name, name=stack.container_name(service.name),
        image=stack.image_ref(service), image_id=image_id,
        command=list(service.command) if service.command is not None else None,
        environment=translated_environment(stack, service)[0], user=service.user,
        read_only=service.read_only, cap_add=list(service.cap_add), cap_drop=list(CAP_DROP),
        healthcheck=service.healthcheck, stop_signal=service.stop_signal,
        stop_grace=service.stop_grace, limits=service.limits,
        restart=restart_condition(service.restart),
        networks=[NetworkRef(stack.network_name(net), [service.name])
                  for net in service.networks],
        ports=[PublishedPort(p.host, p.container, p.protocol, mode) for p in service.ports],
        endpoint_mode=endpoint_mode(stack, service), mode=service.mode,
        replicas=service.replicas,
        constraints=[*service.placement, *pin(stack, service, state)],
        mounts=mounts, tmpfs=tmpfs, configs=service_configs(stack, service, state),
        secrets=service_secrets(stack, service, state), update_order=update_order(service),
        monitor=stack.swarm.monitor, logging=log_spec(stack, service),
        labels={**labels(stack, "service", service.name, service=service.name),
                LABEL_IMAGE: stack.image_ref(service)},
        volume_labels=volumes, ready_timeout=service.ready_timeout)


def service_of(labels_: dict[str, str]) -> str | None:
    return labels_.get(LABEL_SERVICE)
