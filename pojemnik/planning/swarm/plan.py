"""The Swarm plan: the declaration against what a manager reports, converged not recreated.

`make_swarm_plan` is pure. It has two parts: `prepare`, the single-host plan's image
builds and the secret files (made where the manager is), which run first; then the
Swarm objects: overlay networks, content-named configs and secrets, services created or
updated wave by wave (a wave starts once the one before runs and is healthy), and the
configs and secrets no service uses any more, removed last. A service whose spec-hash
label matches the declaration is left alone, so a second deploy updates nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from ...declaration.model import LABEL_SPEC_HASH, SecretMount, Stack
from ...declaration.order import startup_order
from ...declaration.validate.swarm import translations
from .. import plan as p
from ..spec import NetworkSpec, field_drift, network_spec, secret_spec
from ..state import Observed
from .spec import (
    ConfigRef,
    SecretRef,
    ServiceSpec,
    service_of,
    service_spec,
)
from .state import ObservedService, SwarmState

CREATE_NETWORK = p.CREATE_NETWORK
CREATE_CONFIG = "create-config"
CREATE_SWARM_SECRET = "create-swarm-secret"
CREATE_SERVICE = "create-service"
UPDATE_SERVICE = "update-service"
REPLACE_SERVICE = "replace-service"  # a change Swarm cannot update (replicated <-> global)
REMOVE_SERVICE = "remove-service"
REMOVE_CONFIG = "remove-config"
REMOVE_SWARM_SECRET = "remove-swarm-secret"
SERVICE_KINDS = (CREATE_SERVICE, UPDATE_SERVICE, REPLACE_SERVICE)


@dataclass(frozen=True)
class SwarmAction(p.Step):
    network: NetworkSpec | None = None
    config: ConfigRef | None = None
    secret: SecretRef | None = None
    secret_path: str = ""  # the secret's file where the manager is
    service: ServiceSpec | None = None
    previous: ObservedService | None = None  # an update: what runs now (names only)
    drift: tuple[str, ...] = ()  # an update: the spec's fields that changed
    wave: int = 0


@dataclass(frozen=True)
class SwarmPlan:
    project: str
    prepare: p.Plan  # image builds and secret files, before any Swarm object
    actions: list[SwarmAction] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # services no longer declared
    notes: list[str] = field(default_factory=list)  # what differs from a single host

    def __bool__(self) -> bool:
        return bool(self.actions) or bool(self.prepare)

    def of_kind(self, *kinds: str) -> list[SwarmAction]:
        return [a for a in self.actions if a.kind in kinds]


def make_swarm_plan(stack: Stack, observed: Observed, state: SwarmState,
                    options: p.Options | None = None) -> SwarmPlan:
    options = options or p.Options()
    prepare = _prepare(stack, observed, options)
    built = {a.image.tag for a in prepare.of_kind(p.BUILD) if a.image}
    actions: list[SwarmAction] = []
    unchanged = list(prepare.unchanged)
    actions += _networks(stack, state, unchanged)
    specs = []
    for number, names in enumerate(startup_order(stack)):
        specs += [(_labelled(stack, name, observed, state, built), number) for name in names]
    actions += _configs_and_secrets(stack, [s for s, _ in specs], state)
    moved: set[str] = set()
    for spec, wave in specs:
        action = _service_action(spec, state, built, wave)
        if action is None:
            unchanged.append(f"service {spec.name}")
        else:
            actions.append(action)
            moved.add(spec.name)
    declared = {s.name for s in stack.services}
    orphans = sorted(s.name for s in state.services if service_of(s.labels) not in declared)
    if options.remove_orphans:
        actions += [SwarmAction(REMOVE_SERVICE, name, "no longer declared") for name in orphans]
        moved |= set(orphans)
    actions += _obsolete(stack, [s for s, _ in specs], state, moved)
    return SwarmPlan(stack.project, prepare, actions, unchanged, orphans, translations(stack))


def _prepare(stack: Stack, observed: Observed, options: p.Options) -> p.Plan:
    """The images to build (as `images.build` plans them) and the missing secret files."""
    wanted = frozenset(s.image for s in stack.services if stack.image(s.image))
    images = p.make_plan(stack, observed, replace(options, only_services=frozenset(),
                                                  only_images=wanted, remove_orphans=False))
    used = {m.secret for s in stack.services for m in s.mounts if isinstance(m, SecretMount)}
    secrets = [p.Action(p.CREATE_SECRET, s.name, "secret file missing: generate a random value",
                        secret=secret_spec(stack, s))
               for s in stack.secrets if s.name in used and s.name not in observed.secrets]
    return replace(images, actions=images.actions + secrets, orphans=[], proxies=[])


def _networks(stack: Stack, state: SwarmState, unchanged: list[str]) -> list[SwarmAction]:
    needed = {n for s in stack.services for n in s.networks}
    actions = []
    for net in stack.networks:
        if net.name not in needed:
            continue
        spec = network_spec(stack, net)
        if state.network(spec.name) is None:
            actions.append(SwarmAction(CREATE_NETWORK, spec.name,
                                       "overlay network missing", network=spec))
        else:
            unchanged.append(f"network {spec.name}")
    return actions


def _labelled(stack: Stack, name: str, observed: Observed, state: SwarmState,
              built: set[str]) -> ServiceSpec:
    service = stack.service(name)
    tag = stack.image_ref(service)
    present = observed.images.get(tag)
    image_id = "" if tag in built or present is None else present.id
    spec = service_spec(stack, service, state, image_id)
    return replace(spec, labels={**spec.labels,
                                 LABEL_SPEC_HASH: json.dumps(spec.fingerprint(), sort_keys=True)})


def _configs_and_secrets(stack: Stack, specs: list[ServiceSpec],
                         state: SwarmState) -> list[SwarmAction]:
    actions: list[SwarmAction] = []
    seen: set[str] = set()
    for spec in specs:
        for config in spec.configs:
            if config.name not in state.configs and config.name not in seen:
                what = config.path if config.content is None else f"generated {config.path}"
                actions.append(SwarmAction(CREATE_CONFIG, config.name, f"{what}: new content",
                                           config=config))
            seen.add(config.name)
        for secret in spec.secrets:
            if secret.name not in state.secrets and secret.name not in seen:
                path = secret_spec(stack, next(s for s in stack.secrets
                                               if s.name == secret.secret)).path
                actions.append(SwarmAction(CREATE_SWARM_SECRET, secret.name,
                                           f"secret {secret.secret}: new value", secret=secret,
                                           secret_path=path))
            seen.add(secret.name)
    return actions


def _service_action(spec: ServiceSpec, state: SwarmState, built: set[str],
                    wave: int) -> SwarmAction | None:
    current = state.service(spec.name)
    if current is None:
        return SwarmAction(CREATE_SERVICE, spec.name, "not running", service=spec, wave=wave)
    drift = field_drift(spec.fingerprint(), current.labels.get(LABEL_SPEC_HASH, ""))
    if spec.image in built and "image_id" not in drift:
        drift.append("image_id")
    if not drift:
        return None
    reason = "drifted: " + ", ".join("image" if d == "image_id" else d for d in drift)
    if current.update_state.startswith("rollback"):
        reason += f" (the last update was rolled back: {current.update_message or '?'})"
    if "mode" in drift:
        return SwarmAction(REPLACE_SERVICE, spec.name, reason + " (Swarm cannot change a "
                           "service's mode: removed, then created)", service=spec,
                           previous=current, drift=tuple(drift), wave=wave)
    return SwarmAction(UPDATE_SERVICE, spec.name, f"{reason} ({spec.update_order})",
                       service=spec, previous=current, drift=tuple(drift), wave=wave)


def _obsolete(stack: Stack, specs: list[ServiceSpec], state: SwarmState,
              moved: set[str]) -> list[SwarmAction]:
    """The project's configs and secrets that no service will mount once the updated
    services have moved off them (those of services left alone are kept)."""
    wanted = {c.name for s in specs for c in s.configs} | {x.name for s in specs
                                                           for x in s.secrets}
    kept = {name for s in state.services if s.name not in moved
            for name in [*s.configs, *s.secrets]}
    actions = [SwarmAction(REMOVE_CONFIG, name, "no service uses it any more")
               for name in sorted(set(state.configs) - wanted - kept)]
    actions += [SwarmAction(REMOVE_SWARM_SECRET, name, "no service uses it any more")
                for name in sorted(set(state.secrets) - wanted - kept)]
    return actions


def swarm_summary(plan: SwarmPlan) -> str:
    counts = {
        "built": len(plan.prepare.of_kind(p.BUILD_BASE, p.BUILD)),
        "created": len(plan.of_kind(CREATE_SERVICE)),
        "updated": len(plan.of_kind(UPDATE_SERVICE, REPLACE_SERVICE)),
        "configs": len(plan.of_kind(CREATE_CONFIG)),
        "secrets": len(plan.of_kind(CREATE_SWARM_SECRET)),
        "removed": len(plan.of_kind(REMOVE_CONFIG, REMOVE_SWARM_SECRET, REMOVE_SERVICE)),
        "unchanged": len([u for u in plan.unchanged if u.startswith("service ")]),
    }
    text = ", ".join(f"{key} {value}" for key, value in counts.items())
    if plan.orphans:
        text += f"; orphans: {', '.join(plan.orphans)}"
    return text
