"""check_swarm_engine: the manager's report against the declaration, before any change."""

from __future__ import annotations

from dataclasses import replace

import pytest
from stackbuilders import converged, one, with_service
from swarmbuilders import MANAGER, WORKER, fresh_state, images_built, on_swarm

from pojemnik import Bind, Stack
from pojemnik.planning.state import ObservedNetwork
from pojemnik.planning.swarm.checks import check_swarm_engine, matches
from pojemnik.planning.swarm.state import ConfigFile


@pytest.fixture
def swarm(stack: Stack) -> Stack:
    return on_swarm(stack)


def check(stack: Stack, **changes: object) -> list[str]:
    problems = check_swarm_engine(stack, images_built(stack), fresh_state(stack, **changes),
                                  "deploy@manager:22")
    return [f"{p.where}: {p.message} / {p.fix}" for p in problems]


def test_a_fresh_two_node_swarm_has_no_problems(swarm: Stack) -> None:
    assert check(swarm) == []


@pytest.mark.parametrize(("changes", "words"), [
    ({"node_id": "", "manager": False}, "is not part of a swarm"),
    ({"manager": False}, "is a worker"),
])
def test_the_engine_must_be_a_manager(swarm: Stack, changes: dict[str, object],
                                      words: str) -> None:
    problem = one(check_swarm_engine(swarm, images_built(swarm),
                                     fresh_state(swarm, **changes), "deploy@m:22"))
    assert problem.where == "stack.py: target" and words in problem.message
    assert "docker swarm init" in problem.fix


def test_a_single_host_deploy_in_the_way_is_refused(swarm: Stack) -> None:
    problems = check_swarm_engine(swarm, converged(swarm), fresh_state(swarm), "m")
    text = "\n".join(str(p) for p in problems)
    assert "runs as plain containers" in text and "demo-proxy" in text
    assert "`down` while the target is still host (volumes are kept)" in text
    tasks = [replace(c, labels={**c.labels, "com.docker.swarm.task.id": "t"})
             for c in converged(swarm).containers]
    assert check_swarm_engine(swarm, replace(images_built(swarm), containers=tasks),
                              fresh_state(swarm), "m") == []


def test_a_bridge_network_of_the_same_name_is_refused(swarm: Stack) -> None:
    bridge = ObservedNetwork("demo-services", "id", ["10.9.20.0/24"], driver="bridge")
    problems = check(swarm, networks=[bridge])
    assert problems == ["stack.py: networks.services: network demo-services exists with "
                        "driver bridge (left by a single-host deploy?), not overlay / remove "
                        "it (`docker network rm demo-services`, once no container uses it), "
                        "then deploy again"]


def test_a_placement_no_node_matches_is_refused(swarm: Stack) -> None:
    edge = with_service(swarm, "proxy", placement=["node.labels.edge==true"])
    problem = one(check_swarm_engine(edge, images_built(edge), fresh_state(edge), "m"))
    assert problem.where == "stack.py: services.proxy.placement"
    assert "match none of the active, ready nodes" in problem.message
    assert "manager (manager, active)" in problem.message
    assert "docker node update --label-add" in problem.fix
    labelled = replace(WORKER, labels={"edge": "true"})
    assert check(edge, nodes=[MANAGER, labelled]) == []


def test_a_drained_node_takes_no_pinned_service(swarm: Stack) -> None:
    drained = replace(MANAGER, availability="drain")
    problems = check(swarm, nodes=[drained, WORKER])
    assert len(problems) == 1  # db keeps data on the manager
    assert "services.db.placement" in problems[0] and "manager, drain" in problems[0]


def test_data_placed_on_several_nodes_is_refused(swarm: Stack) -> None:
    workers = with_service(swarm, "db", placement=["node.role==worker"])
    other = replace(WORKER, id="node-w2", hostname="worker2")
    problems = check(workers, nodes=[MANAGER, WORKER, other])
    assert len(problems) == 1 and "matches 2 nodes (worker, worker2)" in problems[0]
    assert "node.hostname==NAME" in problems[0]
    assert check(workers) == []


def test_writable_binds_stay_on_the_manager(swarm: Stack) -> None:
    uploads = with_service(swarm, "app", mounts=[Bind("www/site", "/srv/up", read_only=False)])
    assert check(uploads) == []  # pinned to the manager, where the directory is made
    elsewhere = with_service(uploads, "app", placement=["node.role==worker"])
    problems = check(elsewhere)
    assert len(problems) == 1 and "made on the manager" in problems[0]


def test_a_config_over_swarms_limit_is_refused(swarm: Stack) -> None:
    big = {"www/site/big.iso": ConfigFile("www/site/big.iso", "ab" * 32, 1000 * 1024)}
    problems = check(swarm, files={**fresh_state(swarm).files, **big})
    assert problems == ["stack.py: mounts: www/site/big.iso: 1000 KiB is over Swarm's limit "
                        "of 999 KiB for a config / keep large files in the image, or in a "
                        "volume of a service pinned to a node"]
    almost = {"www/site/big.iso": ConfigFile("www/site/big.iso", "ab" * 32, 1000 * 1024 - 1)}
    assert check(swarm, files={**fresh_state(swarm).files, **almost}) == []


@pytest.mark.parametrize(("constraint", "expected"), [
    ("node.role==manager", True), ("node.role != manager", False),
    ("node.hostname==MANAGER", True), ("node.labels.edge==true", False),
    ("node.labels.edge!=true", True), ("node.id==node-m", True),
    ("engine.labels.zone==a", False), ("node.platform.os==linux", True), ("nonsense", False),
])
def test_constraints_match_as_swarm_matches_them(constraint: str, expected: bool) -> None:
    assert matches(constraint, MANAGER) is expected
