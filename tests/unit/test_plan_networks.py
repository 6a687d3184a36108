"""The plan compares each container's network attachments and addresses, as the engine
reports them, with the declaration: an interrupted deploy must converge on a re-run."""

from __future__ import annotations

from stackbuilders import converged, with_container

from pojemnik import Stack
from pojemnik.planning import plan as p
from pojemnik.planning.plan import make_plan
from pojemnik.planning.state import Observed

ISOLATED, SERVICES = "demo-isolated", "demo-services"


def kinds(plan: p.Plan) -> list[tuple[str, str]]:
    return [(a.kind, a.target) for a in plan.actions]


def on_networks(observed: Observed, name: str, addresses: dict[str, str],
                **changes: str) -> Observed:
    return with_container(observed, name, networks=sorted(addresses), addresses=addresses,
                          **changes)


def test_converged_containers_on_their_networks_are_unchanged(stack: Stack) -> None:
    assert make_plan(stack, converged(stack)).actions == []


def test_created_on_one_network_of_two_is_recreated_not_started(stack: Stack) -> None:
    """Killed between `create` (first network) and `network connect` (the second): the
    container exists, never started, its labels say everything is as declared."""
    observed = on_networks(converged(stack), "demo-app", {SERVICES: "10.9.20.5"},
                           state="created")
    plan = make_plan(stack, observed)
    assert kinds(plan) == [(p.RECREATE, "demo-app")]
    assert plan.actions[0].reason == f"drifted: not on {ISOLATED}"
    assert plan.actions[0].wave == 1


def test_running_container_disconnected_from_a_network_is_recreated(stack: Stack) -> None:
    observed = on_networks(converged(stack), "demo-php", {ISOLATED: "10.9.10.4"})
    plan = make_plan(stack, observed)
    assert kinds(plan) == [(p.RECREATE, "demo-php")]
    assert f"not on {SERVICES}" in plan.actions[0].reason


def test_wrong_address_is_recreated(stack: Stack) -> None:
    observed = on_networks(converged(stack), "demo-proxy", {SERVICES: "10.9.20.77"})
    plan = make_plan(stack, observed)
    assert kinds(plan) == [(p.RECREATE, "demo-proxy")]
    assert plan.actions[0].reason == \
        f"drifted: {SERVICES} address 10.9.20.77, declared 10.9.20.3"


def test_extra_network_is_recreated(stack: Stack) -> None:
    observed = on_networks(converged(stack), "demo-db",
                           {ISOLATED: "10.9.10.3", "bridge": "172.17.0.9"})
    plan = make_plan(stack, observed)
    assert kinds(plan) == [(p.RECREATE, "demo-db")]
    assert "on undeclared bridge" in plan.actions[0].reason


def test_stopped_container_with_its_addresses_only_requested_is_started(stack: Stack) -> None:
    """Created on every network but never started (or stopped): the engine reports the
    requested addresses only; that is as declared, so start it."""
    observed = on_networks(converged(stack), "demo-app",
                           {SERVICES: "10.9.20.5", ISOLATED: "10.9.10.5"}, state="created")
    assert kinds(make_plan(stack, observed)) == [(p.START, "demo-app")]


def test_unknown_address_is_not_drift(stack: Stack) -> None:
    observed = on_networks(converged(stack), "demo-app", {SERVICES: "", ISOLATED: ""},
                           state="exited")
    assert kinds(make_plan(stack, observed)) == [(p.START, "demo-app")]
