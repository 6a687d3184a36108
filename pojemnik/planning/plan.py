"""The plan: the difference between what is declared and what the engine reports.

`make_plan` is a pure function of (stack, observed state, options). Each action
says why it is there; what is already as declared appears only in `unchanged`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from ..declaration.model import (
    LABEL_CONFIG_HASH,
    LABEL_CONTEXT_HASH,
    LABEL_REFRESHED,
    LABEL_SERVICE,
    LABEL_SPEC_HASH,
    SecretMount,
    Service,
    Stack,
    VolumeMount,
)
from ..declaration.order import start_waves, started_first
from .spec import (
    ContainerSpec,
    ImageSpec,
    NetworkSpec,
    SecretSpec,
    container_spec,
    field_drift,
    image_spec,
    network_spec,
    secret_spec,
    volume_labels,
)
from .state import FilesDiff, Observed, ObservedContainer, ObservedImage, ObservedNetwork
from .upstreams import ProxyUpstreams, in_slot, next_name, proxy_upstreams, replacement_slot

# Kinds of action, in the order they run.
BUILD_BASE = "build-base"
BUILD = "build"
CREATE_NETWORK = "create-network"
RECREATE_NETWORK = "recreate-network"
CREATE_VOLUME = "create-volume"
CREATE_SECRET = "create-secret"
SHIP_FILES = "ship-files"  # a remote host's copy of the mounted files brought up to date
CREATE = "create"
RECREATE = "recreate"
START = "start"
RELOAD = "reload"
REMOVE_ORPHAN = "remove-orphan"
DAY = 86400.0


@dataclass(frozen=True)
class Step:
    """What every plan's action says, on either target: its kind, what it acts on, why."""

    kind: str
    target: str
    reason: str


@dataclass(frozen=True)
class Action(Step):
    image: ImageSpec | None = None
    network: NetworkSpec | None = None
    container: ContainerSpec | None = None
    secret: SecretSpec | None = None
    files: FilesDiff | None = None
    labels: dict[str, str] = field(default_factory=dict)  # volumes
    wave: int = 0  # containers: start after every earlier wave is ready
    after: tuple[str, ...] = ()  # containers: start once these (same wave) have started
    fresh: bool = False  # builds: skip the layer cache so package updates really run
    start_first: bool = False  # recreate: the new container starts beside the old one


@dataclass(frozen=True)
class Plan:
    project: str
    actions: list[Action] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # reported; removed only when asked
    proxies: list[ProxyUpstreams] = field(default_factory=list)  # upstream files to keep

    def __bool__(self) -> bool:
        return bool(self.actions)

    def of_kind(self, *kinds: str) -> list[Action]:
        return [a for a in self.actions if a.kind in kinds]

    def only(self, *kinds: str) -> Plan:
        """This plan reduced to actions of these kinds (e.g. `networks.create`)."""
        return replace(self, actions=self.of_kind(*kinds))


@dataclass(frozen=True)
class Options:
    only_services: frozenset[str] | None = None  # None: every service
    only_images: frozenset[str] | None = None
    build: bool = True  # False: containers.run uses the images present
    refresh: bool = False  # rebuild with fresh package lists (no layer cache)
    remove_orphans: bool = False
    recreate_networks: bool = False  # networks whose subnet or `internal` changed
    now: float | None = None  # seconds since the epoch; None: no refresh-age check


def make_plan(stack: Stack, observed: Observed, options: Options | None = None) -> Plan:
    options = options or Options()
    actions: list[Action] = []
    unchanged: list[str] = []
    services = [s for s in stack.services
                if options.only_services is None or s.name in options.only_services]
    built = _image_actions(stack, observed, options, services, actions, unchanged)
    recreated = _network_actions(stack, observed, options, services, actions, unchanged)
    _resource_actions(stack, observed, services, actions)
    if observed.files and services:  # not for `images.build`: it mounts nothing
        actions.append(Action(SHIP_FILES, observed.files.root, observed.files.reason(),
                              files=observed.files))
    wanted = {s.name for s in services}
    for wave_number, wave in enumerate(start_waves(stack)):
        for name in wave:
            if name not in wanted:
                continue
            spec = _labelled_spec(stack, name, observed)
            action = (_on_recreated_network(spec, observed, recreated, wave_number)
                      or _container_action(spec, observed, built, stack, wave_number)
                      or _reload_action(spec, observed, stack, wave_number))
            if action:
                actions.append(replace(action, after=started_first(stack, name)))
            else:
                unchanged.append(f"container {spec.name}")
    declared = {s.name for s in stack.services}
    orphans = sorted(c.name for c in observed.containers
                     if c.labels.get(LABEL_SERVICE) not in declared)
    if options.remove_orphans:
        actions += [Action(REMOVE_ORPHAN, name, "no longer declared") for name in orphans]
    actions += [Action(REMOVE_ORPHAN, c.name, "left by an interrupted update")
                for c in observed.containers if c.labels.get(LABEL_SERVICE) in declared
                and c.name == next_name(stack.container_name(c.labels[LABEL_SERVICE]))]
    return Plan(stack.project, actions, unchanged, orphans, proxy_upstreams(stack))


def _image_actions(stack: Stack, observed: Observed, options: Options,
                   services: list[Service], actions: list[Action],
                   unchanged: list[str]) -> set[str]:
    """Builds (and the base image first); returns the names of images built."""
    wanted_images = {s.image for s in services if stack.image(s.image)}
    if stack.tls is not None and stack.tls.ordered() and stack.image(stack.tls.image):
        wanted_images.add(stack.tls.image)  # the one-shot ACME client's, run by no service
    if options.only_images is not None:
        wanted_images = set(options.only_images)
    built: set[str] = set()
    if not options.build or not wanted_images:
        return built
    if stack.base_image not in observed.images:
        actions.append(Action(BUILD_BASE, stack.base_image,
                              "base image not present: build it from Debian packages"))
    for name in sorted(wanted_images):
        image = image_spec(stack, name)
        reason, fresh = _build_reason(stack, image.tag, name, observed, options)
        if reason:
            labels = {**image.labels,
                      LABEL_CONTEXT_HASH: observed.context_hashes.get(name, ""),
                      **_refreshed_label(observed, image.tag, fresh, options)}
            image = replace(image, labels=labels)
            actions.append(Action(BUILD, image.tag, reason, image=image, fresh=fresh))
            built.add(name)
        else:
            unchanged.append(f"image {image.tag}")
    return built


def _network_actions(stack: Stack, observed: Observed, options: Options,
                     services: list[Service], actions: list[Action],
                     unchanged: list[str]) -> set[str]:
    """Networks to create or recreate; returns the engine names of those recreated."""
    needed = {n for s in services for n in s.networks}
    recreated: set[str] = set()
    for net in stack.networks:
        if net.name not in needed:
            continue
        network = network_spec(stack, net)
        existing = observed.network(network.name)
        if existing is None:
            actions.append(Action(CREATE_NETWORK, network.name, "network missing",
                                  network=network))
        elif options.recreate_networks and (drift := _network_drift(network, existing)):
            actions.append(Action(RECREATE_NETWORK, network.name, drift, network=network))
            recreated.add(network.name)
        else:
            unchanged.append(f"network {network.name}")
    return recreated


def _resource_actions(stack: Stack, observed: Observed, services: list[Service],
                      actions: list[Action]) -> None:
    """Volumes and secrets that the chosen services mount and that do not exist yet."""
    volumes = {m.volume for s in services for m in s.mounts if isinstance(m, VolumeMount)}
    for volume in stack.volumes:
        name = stack.volume_name(volume.name)
        if volume.name in volumes and name not in observed.volumes:
            actions.append(Action(CREATE_VOLUME, name, "volume missing",
                                  labels=volume_labels(stack, volume.name)))
    secrets = {m.secret for s in services for m in s.mounts if isinstance(m, SecretMount)}
    if stack.backup is not None:  # the backup repository's password: mounted by its helper
        secrets.add(stack.backup.password)
    for secret in stack.secrets:
        if secret.name in secrets and secret.name not in observed.secrets:
            actions.append(Action(CREATE_SECRET, secret.name,
                                  "secret file missing: generate a random value",
                                  secret=secret_spec(stack, secret)))


def _labelled_spec(stack: Stack, name: str, observed: Observed) -> ContainerSpec:
    """The container's spec with the labels that let a later plan see its drift."""
    spec = container_spec(stack, stack.service(name))
    labels = {**spec.labels, LABEL_SPEC_HASH: json.dumps(spec.fingerprint(), sort_keys=True)}
    if name in observed.config_hashes:
        labels[LABEL_CONFIG_HASH] = observed.config_hashes[name]
    return replace(spec, labels=labels)


def _build_reason(stack: Stack, tag: str, name: str, observed: Observed,
                  options: Options) -> tuple[str | None, bool]:
    """Why to build (None: don't), and whether to skip the layer cache."""
    present = observed.images.get(tag)
    if present is None:
        return "not built yet", False
    if options.refresh:
        return "refresh requested: re-run package updates", True
    age = _age_days(present, options)
    if stack.refresh_after_days is not None and age is not None \
            and age > stack.refresh_after_days:
        return (f"refresh due: packages {age:.0f} days old "
                f"(refresh_after_days={stack.refresh_after_days})"), True
    if present.labels.get(LABEL_CONTEXT_HASH) != observed.context_hashes.get(name):
        return "build context changed", False
    return None, False


def _age_days(image: ObservedImage, options: Options) -> float | None:
    if options.now is None:
        return None
    try:
        refreshed = float(image.labels.get(LABEL_REFRESHED) or image.created)
    except ValueError:
        refreshed = image.created
    return (options.now - refreshed) / DAY if refreshed else None


def _refreshed_label(observed: Observed, tag: str, fresh: bool,
                     options: Options) -> dict[str, str]:
    """When the package layers were last made: now for a no-cache build, else kept."""
    present = observed.images.get(tag)
    previous = present.labels.get(LABEL_REFRESHED) if present else None
    if previous and not fresh:
        return {LABEL_REFRESHED: previous}
    return {LABEL_REFRESHED: str(int(options.now))} if options.now is not None else {}


def _container_action(spec: ContainerSpec, observed: Observed, built: set[str],
                      stack: Stack, wave: int) -> Action | None:
    current = observed.container(spec.name)
    if current is None:
        return Action(CREATE, spec.name, "not running", container=spec, wave=wave)
    drift = field_drift(spec.fingerprint(), current.labels.get(LABEL_SPEC_HASH, ""))
    drift += _attachment_drift(spec, current)
    if drift and spec.standby:  # a start-first service may run on either of its addresses
        standby = in_slot(spec, True)
        other = (field_drift(standby.fingerprint(), current.labels.get(LABEL_SPEC_HASH, ""))
                 + _attachment_drift(standby, current))
        drift = min(drift, other, key=len)
    image = stack.image(stack.service(spec.service).image)
    if image is not None and image.name in built:
        drift.append("image rebuilt")
    elif spec.image in observed.images and observed.images[spec.image].id != current.image:
        drift.append("image id")
    if drift and spec.standby and current.state == "running":
        return Action(RECREATE, spec.name, "drifted: " + ", ".join(drift) + " (start-first)",
                      container=replacement_slot(spec, current), wave=wave, start_first=True)
    if drift:
        return Action(RECREATE, spec.name, "drifted: " + ", ".join(drift), container=spec,
                      wave=wave)
    if current.state != "running":
        return Action(START, spec.name, f"container {current.state}", container=spec, wave=wave)
    return None


def _attachment_drift(spec: ContainerSpec, current: ObservedContainer) -> list[str]:
    """The networks and addresses the engine reports against the declared ones: a deploy
    interrupted between `create` and `network connect` leaves a container on fewer
    networks than its labels say."""
    found = {n: current.addresses.get(n, "") for n in current.networks if n != "none"}
    changes = [f"not on {a.network}" for a in spec.networks if a.network not in found]
    changes += [f"on undeclared {name}" for name in sorted(found)
                if name not in {a.network for a in spec.networks}]
    changes += [f"{a.network} address {found[a.network]}, declared {a.ip}"
                for a in spec.networks
                if a.ip and found.get(a.network) and found[a.network] != a.ip]
    return changes


def _network_drift(spec: NetworkSpec, existing: ObservedNetwork) -> str:
    changes = []
    if existing.subnets and existing.subnets != [spec.subnet]:
        changes.append(f"subnet {', '.join(existing.subnets)} -> {spec.subnet}")
    if existing.internal != spec.internal:
        changes.append(f"internal {existing.internal} -> {spec.internal}")
    return "; ".join(changes)


def _on_recreated_network(spec: ContainerSpec, observed: Observed, networks: set[str],
                          wave: int) -> Action | None:
    current = observed.container(spec.name)
    if current is None or not networks & set(current.networks):
        return None
    return Action(RECREATE, spec.name, "its network is recreated: "
                  + ", ".join(sorted(networks & set(current.networks))), container=spec,
                  wave=wave)


def _reload_action(spec: ContainerSpec, observed: Observed, stack: Stack,
                   wave: int) -> Action | None:
    service = stack.service(spec.service)
    current = observed.container(spec.name)
    wanted = observed.config_hashes.get(spec.service)
    if service.reload is None or current is None or wanted is None:
        return None
    applied = observed.applied_config.get(current.id) or current.labels.get(LABEL_CONFIG_HASH)
    if applied == wanted:
        return None
    return Action(RELOAD, spec.name, "config changed: " + ", ".join(service.watched()),
                  container=spec, wave=wave)

