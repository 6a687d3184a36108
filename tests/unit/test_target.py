"""target_for: the one place that reads Stack.target to choose how tasks act on a stack."""

from __future__ import annotations

from typing import Any

import pytest
from swarmbuilders import on_swarm

from pojemnik import Stack
from pojemnik.engine.backend import Engine
from pojemnik.operations.target import HostTarget, SwarmTarget, target_for


class Untouched:
    """An engine nothing may be asked of: choosing a target connects to nothing."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the engine was asked for {name}")


def never() -> Engine:
    raise AssertionError("this machine's engine was connected")


def test_a_host_stack_is_one_host(stack: Stack) -> None:
    assert type(target_for(stack, Untouched(), print, build=never)) is HostTarget  # type: ignore[arg-type]


def test_a_swarm_stack_acts_through_its_manager(stack: Stack) -> None:
    target = target_for(on_swarm(stack), Untouched(), print, build=never)  # type: ignore[arg-type]
    assert type(target) is SwarmTarget


def test_tasks_for_one_engine_get_the_host_target_on_a_swarm_too(stack: Stack) -> None:
    """`images.build` and `containers.run` act on the task's engine alone."""
    target = target_for(on_swarm(stack), Untouched(), print, one_host=True)  # type: ignore[arg-type]
    assert type(target) is HostTarget


def test_without_ssh_the_managers_engine_builds(stack: Stack) -> None:
    """Locally the manager's engine is this machine's: no second connection is made."""
    engine = Untouched()
    target = target_for(on_swarm(stack), engine, print, build=never)  # type: ignore[arg-type]
    assert isinstance(target, SwarmTarget)
    assert target.site().build is engine
    target.close()  # closes nothing: the task closes the engine it connected


@pytest.mark.parametrize("remote", [False, True])
def test_this_machines_engine_is_connected_only_when_a_plan_needs_it(stack: Stack,
                                                                      remote: bool) -> None:
    connected: list[Engine] = []

    class Built(Untouched):
        def close(self) -> None:
            connected.remove(self)

    def build() -> Engine:
        connected.append(Built())  # type: ignore[arg-type]
        return connected[-1]

    host = object() if remote else None  # a Fabric connection, never used here
    target = target_for(on_swarm(stack), Untouched(), print, host, build)  # type: ignore[arg-type]
    assert connected == []  # `ps`, `logs` and `down` need no image built here
    assert isinstance(target, SwarmTarget)
    built = target.site().build
    assert connected == ([built] if remote else [])
    target.site()
    assert len(connected) == (1 if remote else 0)  # once per task
    target.close()
    assert connected == []
