"""Resolve the declaration into exact engine objects: names, addresses, paths, labels.

These specs are what the plan compares with the engine, what `apply` hands to
Docker, and what `--format bash` prints as `docker` commands: one source for all three.
Pure functions; call only on a validated stack.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import asdict, dataclass, field

from ..declaration import model
from ..declaration.model import (
    LABEL_HEAL_AFTER,
    LABEL_KIND,
    LABEL_NAME,
    LABEL_PROJECT,
    LABEL_SERVICE,
    Healthcheck,
    Limits,
    Network,
    Port,
    Reload,
    Secret,
    Service,
    Stack,
)
from ..declaration.policy import StartFirst, StopFirst, UpdatePolicy
from ..declaration.units import address_on, gateway_of
from .hardening import CAP_DROP, SECURITY_OPT, memory_swap
from .logging_policy import LogSpec, log_spec

# What a helper running as root needs to read and write files of any owner, keeping owners
# and modes (backups, volume refreshes), and nothing more: the rest of root's are dropped.
FILE_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID")


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    subnet: str
    gateway: str
    internal: bool
    labels: dict[str, str]


@dataclass(frozen=True)
class ImageSpec:
    name: str
    tag: str
    context: str  # absolute path
    dockerfile: str
    build_args: dict[str, str]
    labels: dict[str, str]


@dataclass(frozen=True)
class SecretSpec:
    name: str
    path: str  # the file that holds it, on the engine's host
    length: int


@dataclass(frozen=True)
class Attachment:
    network: str  # engine name
    ip: str | None
    aliases: list[str]


@dataclass(frozen=True)
class MountSpec:
    type: str  # "bind" | "volume"
    source: str  # absolute host path, or engine volume name
    target: str
    read_only: bool


@dataclass(frozen=True)
class ContainerSpec:
    service: str
    name: str
    image: str
    command: list[str] | None
    environment: dict[str, str]
    user: str | None
    ports: list[Port]
    mounts: list[MountSpec]
    tmpfs: dict[str, str]
    networks: list[Attachment]
    restart: str
    healthcheck: Healthcheck | None
    limits: Limits
    read_only: bool
    cap_add: list[str]
    cap_drop: list[str]
    security_opt: list[str]
    memory_swap: int  # bytes; equal to the memory limit: no swap on top of it
    heal_after: int | None  # failed checks before the host's watcher restarts it
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str | None = None
    stop_grace: float = 10.0
    # Not part of the fingerprint: changing them needs no new container.
    reload: Reload | None = None
    ready_timeout: float = 120.0
    update: UpdatePolicy = field(default_factory=StopFirst)
    standby: list[Attachment] = field(default_factory=list)  # StartFirst's second addresses
    logging: LogSpec = field(default_factory=LogSpec)  # log driver and rotation
    release: str | None = None  # the service's release command: run before it serves
    release_timeout: float = 600.0

    def fingerprint(self) -> dict[str, str]:
        """A short hash per field that, changed, needs a new container.

        Stored on the container as a label, so a later plan can say *which* fields
        drifted without keeping (or printing) their values. Labels are excluded:
        they carry the fingerprint itself.
        """
        data = asdict(self)
        for key in ("labels", "reload", "ready_timeout", "update", "standby", "release",
                    "release_timeout"):
            data.pop(key)
        return {key: _digest(value)[:12] for key, value in sorted(data.items())}


def _digest(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def labels(stack: Stack, kind: str, name: str, service: str | None = None) -> dict[str, str]:
    result = {LABEL_PROJECT: stack.project, LABEL_KIND: kind, LABEL_NAME: name}
    if service is not None:
        result[LABEL_SERVICE] = service
    return result


def network_spec(stack: Stack, network: Network) -> NetworkSpec:
    subnet = str(ipaddress.ip_network(network.subnet, strict=False))
    return NetworkSpec(
        name=stack.network_name(network.name),
        subnet=subnet,
        gateway=gateway_of(network),
        internal=network.internal,
        labels=labels(stack, "network", network.name),
    )


def image_spec(stack: Stack, name: str) -> ImageSpec:
    image = stack.image(name)
    assert image is not None, name
    return ImageSpec(
        name=name,
        tag=stack.image_tag(name),
        context=str((stack.root / image.context_path).resolve()),
        dockerfile=image.dockerfile,
        build_args={"BASE_IMAGE": stack.base_image, **dict(image.build_args)},
        labels=labels(stack, "image", name),
    )


def _mounts(stack: Stack, service: Service) -> tuple[list[MountSpec], dict[str, str]]:
    """Bind and volume mounts with their engine-side sources; tmpfs mounts apart."""
    mounts: list[MountSpec] = []
    tmpfs: dict[str, str] = {}
    for mount in service.mounts:
        if isinstance(mount, model.Bind):
            source = stack.host_path(mount.source)
            mounts.append(MountSpec("bind", source, mount.target, mount.read_only))
        elif isinstance(mount, model.VolumeMount):
            volume = stack.volume_name(mount.volume)
            mounts.append(MountSpec("volume", volume, mount.target, mount.read_only))
        elif isinstance(mount, model.SecretMount):
            source = stack.host_path(f"{stack.secrets_dir()}/{mount.secret}")
            mounts.append(MountSpec("bind", source, mount.path, True))
        elif isinstance(mount, model.Tmpfs):
            tmpfs[mount.target] = f"rw,noexec,nosuid,size={mount.size},mode={mount.mode}"
    if service.upstreams is not None:
        mounts.append(MountSpec("bind", stack.host_path(stack.upstreams_dir()),
                                service.upstreams.target, True))
    return mounts, tmpfs


def container_spec(stack: Stack, service: Service) -> ContainerSpec:
    mounts, tmpfs = _mounts(stack, service)
    attachments = [
        Attachment(
            network=stack.network_name(net),
            ip=address_on(stack.network(net), host),
            aliases=[service.name],
        )
        for net, host in service.networks.items()
    ]
    standby = [
        Attachment(network=stack.network_name(net),
                   ip=address_on(stack.network(net), service.update.standby.get(net, host)),
                   aliases=[service.name])
        for net, host in service.networks.items()
    ] if isinstance(service.update, StartFirst) else []
    return ContainerSpec(
        service=service.name,
        name=stack.container_name(service.name),
        image=stack.image_ref(service),
        command=list(service.command) if service.command is not None else None,
        environment=dict(service.environment),
        user=service.user,
        ports=list(service.ports),
        mounts=mounts,
        tmpfs=tmpfs,
        networks=attachments,
        restart=service.restart,
        healthcheck=service.healthcheck,
        limits=service.limits,
        read_only=service.read_only,
        cap_add=list(service.cap_add),
        cap_drop=list(CAP_DROP),
        security_opt=list(SECURITY_OPT),
        memory_swap=memory_swap(service.limits),
        heal_after=service.heal_after,
        labels=_container_labels(stack, service),
        stop_signal=service.stop_signal,
        stop_grace=service.stop_grace,
        reload=service.reload,
        ready_timeout=service.ready_timeout,
        update=service.update,
        standby=standby,
        logging=log_spec(stack, service),
        release=service.release,
        release_timeout=service.release_timeout,
    )


def _container_labels(stack: Stack, service: Service) -> dict[str, str]:
    found = labels(stack, "container", service.name, service=service.name)
    if service.heal_after is not None:  # acted on only while a health check fails
        found[LABEL_HEAL_AFTER] = str(service.heal_after)
    return found


def volume_labels(stack: Stack, volume: str) -> dict[str, str]:
    return labels(stack, "volume", volume)


def secret_spec(stack: Stack, secret: Secret) -> SecretSpec:
    """The secret's file as the engine's host sees it (what containers mount)."""
    return SecretSpec(secret.name, stack.host_path(f"{stack.secrets_dir()}/{secret.name}"),
                      secret.length)


def field_drift(fingerprint: dict[str, str], recorded: str) -> list[str]:
    """The fields whose hash differs from the one recorded in the label (a container's
    or a Swarm service's spec)."""
    try:
        old = json.loads(recorded) if recorded else {}
    except json.JSONDecodeError:
        old = {}
    if not isinstance(old, dict) or not old:
        return ["made by an older pojemnik or by hand"]
    return [key for key, value in fingerprint.items() if old.get(key) != value]
