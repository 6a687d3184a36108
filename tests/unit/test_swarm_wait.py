"""Waiting for a Swarm service to converge, against a scripted manager: done only when its
tasks run from the current spec, as many as declared; an update rolled back by Swarm fails
the deploy, saying so; a lost look is taken again."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
from swarmbuilders import MANAGER, WORKER, fresh_state, images_built, on_swarm

from pojemnik import Stack
from pojemnik.engine.swarm.backend import ServiceProgress, TaskRow
from pojemnik.engine.swarm.manager import _up_to_date
from pojemnik.errors import DockerError, OperationError
from pojemnik.operations.swarm._spread import crowded, spread
from pojemnik.operations.swarm._wait import RolledBack, Waiter
from pojemnik.planning.swarm import plan as sp
from pojemnik.planning.swarm.spec import ServiceSpec
from pojemnik.planning.swarm.state import ObservedNode


@dataclass
class Scripted:
    """Answers `progress` from a list, the last one for ever; records updates."""

    looks: list[ServiceProgress | Exception]
    where: str = "manager"
    seen: int = 0
    updates: list[int] = field(default_factory=list)
    listed: list[ObservedNode] = field(default_factory=lambda: [MANAGER, WORKER])

    def nodes(self) -> list[ObservedNode]:
        return self.listed

    def update_service(self, spec: ServiceSpec) -> None:
        self.updates.append(spec.replicas)

    def progress(self, name: str) -> ServiceProgress:
        look = self.looks[min(self.seen, len(self.looks) - 1)]
        self.seen += 1
        if isinstance(look, Exception):
            raise look
        return look


@dataclass
class Clock:
    now: float = 0.0
    said: list[str] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def app(stack: Stack) -> ServiceSpec:
    swarm = on_swarm(stack)
    plan = sp.make_swarm_plan(swarm, images_built(swarm), fresh_state(swarm))
    spec = next(a.service for a in plan.of_kind(sp.CREATE_SERVICE) if a.target == "demo-app")
    assert spec is not None
    return replace(spec, replicas=2)


def task(node: str, state: str = "running", current: bool = True, image: str = "sha256:php",
         error: str = "") -> TaskRow:
    return TaskRow(f"t-{node}-{state}", node, "running" if current else "shutdown", state,
                   error=error, image=image)


def run(looks: list[ServiceProgress | Exception], spec: ServiceSpec, started: str = ""
        ) -> tuple[str, list[str]]:
    clock = Clock()
    waiter = Waiter(Scripted(looks), clock.said.append, lambda: clock.now, clock.sleep)
    return waiter.converged(spec, 60, started), clock.said


def test_done_once_every_task_runs(app: ServiceSpec) -> None:
    looks: list[ServiceProgress | Exception] = [
        ServiceProgress("demo-app", tasks=[task("manager", "starting"),
                                           task("worker", "preparing")]),
        ServiceProgress("demo-app", tasks=[task("manager"), task("worker", "starting")]),
        ServiceProgress("demo-app", tasks=[task("manager"), task("worker")]),
    ]
    status, said = run(looks, app)
    assert status == "2/2 running (manager, worker)"
    assert said == ["service demo-app: 0/2 running; starting on manager, preparing on worker",
                    "service demo-app: 1/2 running (manager); starting on worker",
                    "service demo-app: 2/2 running (manager, worker)"]


def test_an_update_is_done_when_its_tasks_are_current(app: ServiceSpec) -> None:
    old = [replace(task("manager"), up_to_date=False), replace(task("worker"), up_to_date=False)]
    looks: list[ServiceProgress | Exception] = [
        ServiceProgress("demo-app", "completed", update_started="t1", tasks=old),
        ServiceProgress("demo-app", "updating", update_started="t2", tasks=old),
        ServiceProgress("demo-app", "completed", update_started="t2",
                        tasks=[task("manager"), task("worker")]),
    ]
    status, said = run(looks, app, started="t1")
    assert "update completed" in status and len(said) == 3


def test_a_rolled_back_update_fails_with_the_tasks_errors(app: ServiceSpec) -> None:
    failed = task("worker", "failed", current=False, error="task: unhealthy container")
    looks: list[ServiceProgress | Exception] = [
        ServiceProgress("demo-app", "rollback_started", "update rolled back due to failure",
                        "t2", [task("manager"), task("worker"), failed]),
        ServiceProgress("demo-app", "rollback_completed", "rollback completed", "t2",
                        [task("manager"), task("worker"), failed]),
    ]
    with pytest.raises(RolledBack) as error:
        run(looks, app, started="t1")
    message = str(error.value)
    assert "Swarm rolled it back by itself: the previous version serves" in message
    assert "task failed on worker: task: unhealthy container" in message


def test_an_old_rollback_is_not_this_deploys(app: ServiceSpec) -> None:
    looks: list[ServiceProgress | Exception] = [ServiceProgress(
        "demo-app", "rollback_completed", "", "t1", [task("manager"), task("worker")])]
    assert run(looks, app, started="t1")[0].startswith("2/2 running")


def test_a_lost_look_is_taken_again(app: ServiceSpec) -> None:
    looks: list[ServiceProgress | Exception] = [
        DockerError("lost the connection"), ServiceProgress(
            "demo-app", tasks=[task("manager"), task("worker")])]
    assert run(looks, app)[0].startswith("2/2 running")
    with pytest.raises(DockerError):
        run([DockerError("lost the connection")], app)


def test_a_service_that_never_converges_fails_in_time(app: ServiceSpec) -> None:
    looks: list[ServiceProgress | Exception] = [ServiceProgress("demo-app", tasks=[
        task("manager"), task("worker", "rejected", error="No such image: sha256:php")])]
    with pytest.raises(OperationError, match="did not converge within 60 s: 1/2 running"):
        run(looks, app)


def test_a_task_is_current_as_swarm_compares_it() -> None:
    template = {"ContainerSpec": {"Image": "sha256:a", "DNSConfig": {}}, "Runtime": "container",
                "Placement": {"Constraints": ["node.role==manager"]}, "ForceUpdate": 0}
    service = {"TaskTemplate": template, "EndpointSpec": {"Mode": "dnsrr"}}
    same = {"Spec": {"ContainerSpec": {"Image": "sha256:a"}, "ForceUpdate": 0}}
    assert _up_to_date(same, service)
    other = {"Spec": {"ContainerSpec": {"Image": "sha256:b"}, "ForceUpdate": 0}}
    assert not _up_to_date(other, service)
    ports = {**same, "Endpoint": {"Spec": {"Ports": [{"TargetPort": 80}]}}}
    assert not _up_to_date(ports, service)


def test_tasks_crowding_one_node_are_spread(app: ServiceSpec) -> None:
    crowding = ServiceProgress("demo-app", tasks=[task("worker"), task("worker")])
    extra = ServiceProgress("demo-app", tasks=[task("worker"), task("worker"), task("manager")])
    spread_out = ServiceProgress("demo-app", tasks=[task("worker"), task("manager")])
    swarm = Scripted([crowding, crowding, crowding, extra, spread_out])
    assert crowded(app, swarm) == ("worker", "manager")
    clock = Clock()
    waiter = Waiter(swarm, clock.said.append, lambda: clock.now, clock.sleep)
    spread(app, swarm, waiter, clock.said.append, 60)
    assert swarm.updates == [3, 2]
    assert clock.said[0] == ("service demo-app: its tasks crowd worker while manager has none: "
                             "one more task, then back to 2 (Swarm removes one from worker)")
    assert clock.said[-1] == "service demo-app: spread, 2/2 running (manager, worker)"


def test_spread_tasks_and_single_nodes_are_left_alone(app: ServiceSpec) -> None:
    balanced = ServiceProgress("demo-app", tasks=[task("worker"), task("manager")])
    assert crowded(app, Scripted([balanced])) is None
    crowding = ServiceProgress("demo-app", tasks=[task("worker"), task("worker")])
    drained = Scripted([crowding], listed=[replace(MANAGER, availability="drain"), WORKER])
    assert crowded(app, drained) is None
    assert crowded(replace(app, replicas=1), Scripted([crowding])) is None
