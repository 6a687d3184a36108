"""Builders for the Swarm unit tests: the unit stack on the Swarm target, a two-node
swarm as the manager reports it, and the state after a plan was applied. No Docker."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from stackbuilders import converged

from pojemnik import Stack
from pojemnik.declaration.model import LABEL_PROJECT
from pojemnik.operations.swarm._workspace import config_files
from pojemnik.planning.state import Observed, ObservedNetwork
from pojemnik.planning.swarm import plan as sp
from pojemnik.planning.swarm.state import ObservedNode, ObservedService, SwarmState

MANAGER = ObservedNode("node-m", "manager", "manager", "active", "ready")
WORKER = ObservedNode("node-w", "worker", "worker", "active", "ready")
SECRET_DIGEST = "5e" * 32


def on_swarm(stack: Stack) -> Stack:
    """The unit stack on the Swarm target: the proxy publishes on every interface."""
    services = [replace(s, ports=[replace(p, address="0.0.0.0") for p in s.ports])
                if s.ports else s for s in stack.services]
    return replace(stack, target="swarm", services=services)



def images_built(stack: Stack) -> Observed:
    """The engine with the stack's images built and nothing else (no containers)."""
    done = converged(stack)
    return replace(done, containers=[], networks=[], volumes=[], secrets=["db_password"])


def fresh_state(stack: Stack, **changes: Any) -> SwarmState:
    state = SwarmState(node_id=MANAGER.id, manager=True, nodes=[MANAGER, WORKER],
                       files=config_files(stack),
                       secret_digests={"db_password": SECRET_DIGEST})
    return replace(state, **changes)


def applied(stack: Stack, observed: Observed, state: SwarmState) -> SwarmState:
    """What the manager reports once the plan made against `state` was applied."""
    plan = sp.make_swarm_plan(stack, observed, state)
    services = list(state.services)
    for action in plan.of_kind(*sp.SERVICE_KINDS):
        assert action.service is not None
        spec = action.service
        services = [s for s in services if s.name != spec.name]
        services.append(ObservedService(
            spec.name, f"id-{spec.name}", dict(spec.labels), spec.image_id,
            env_names=sorted(spec.environment), configs=[c.name for c in spec.configs],
            secrets=[x.name for x in spec.secrets],
            mounts=[m.target for m in spec.mounts] + sorted(spec.tmpfs),
            constraints=list(spec.constraints), networks=[n.network for n in spec.networks],
            ports=[f"{p.published}:{p.target}/{p.protocol}" for p in spec.ports],
            update_state="completed"))
    removed = {a.target for a in plan.of_kind(sp.REMOVE_CONFIG, sp.REMOVE_SWARM_SECRET)}
    configs = [*state.configs, *(a.target for a in plan.of_kind(sp.CREATE_CONFIG))]
    secrets = [*state.secrets, *(a.target for a in plan.of_kind(sp.CREATE_SWARM_SECRET))]
    networks = list(state.networks) + [
        ObservedNetwork(a.target, f"id-{a.target}", [a.network.subnet], a.network.internal,
                        {LABEL_PROJECT: stack.project}, driver="overlay")
        for a in plan.of_kind(sp.CREATE_NETWORK) if a.network]
    return replace(state, services=services, networks=networks,
                   configs=[c for c in configs if c not in removed],
                   secrets=[s for s in secrets if s not in removed])


def kinds(plan: sp.SwarmPlan) -> list[tuple[str, str]]:
    return [(a.kind, a.target) for a in plan.actions]
