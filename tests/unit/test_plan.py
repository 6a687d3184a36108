"""make_plan(stack, observed, options): pure, each action with its reason."""

from __future__ import annotations

from dataclasses import replace

from stackbuilders import HASHES, PROJECT, converged, with_container, with_service

from pojemnik import Stack
from pojemnik.declaration.model import LABEL_PROJECT, LABEL_SERVICE, LABEL_SPEC_HASH
from pojemnik.planning import plan as p
from pojemnik.planning.plan import Options, make_plan
from pojemnik.planning.render import summary
from pojemnik.planning.state import Observed, ObservedContainer


def kinds(plan: p.Plan) -> list[tuple[str, str]]:
    return [(a.kind, a.target) for a in plan.actions]


ALL_UNCHANGED = {
    "image demo/db:latest", "image demo/php:latest", "image demo/proxy:latest",
    "network demo-isolated", "network demo-services",
    "container demo-db", "container demo-php", "container demo-app", "container demo-proxy",
}


def test_empty_engine_builds_and_creates_everything_in_order(stack: Stack) -> None:
    plan = make_plan(stack, Observed())
    assert kinds(plan) == [
        (p.BUILD_BASE, "debian:bookworm-slim"),
        (p.BUILD, "demo/db:latest"),
        (p.BUILD, "demo/php:latest"),
        (p.BUILD, "demo/proxy:latest"),
        (p.CREATE_NETWORK, "demo-isolated"),
        (p.CREATE_NETWORK, "demo-services"),
        (p.CREATE_VOLUME, "demo-dbdata"),
        (p.CREATE_SECRET, "db_password"),
        (p.CREATE, "demo-db"),
        (p.CREATE, "demo-app"),
        (p.CREATE, "demo-php"),
        (p.CREATE, "demo-proxy"),
    ]
    assert plan.unchanged == []
    assert plan.orphans == []
    assert all(a.reason for a in plan.actions)


def test_containers_start_in_dependency_waves(stack: Stack) -> None:
    waves = {a.target: a.wave for a in make_plan(stack, Observed()).of_kind(p.CREATE)}
    assert waves == {"demo-db": 0, "demo-php": 1, "demo-app": 1, "demo-proxy": 2}


def test_actions_carry_resolved_specs(stack: Stack) -> None:
    plan = make_plan(stack, Observed(context_hashes=HASHES))
    build = plan.of_kind(p.BUILD)[1]
    assert build.image is not None
    assert build.image.labels["pojemnik.context-hash"] == "hash-php"
    assert build.image.build_args["BASE_IMAGE"] == "debian:bookworm-slim"
    network = plan.of_kind(p.CREATE_NETWORK)[0].network
    assert network is not None
    assert (network.subnet, network.gateway, network.internal) == ("10.9.10.0/24",
                                                                   "10.9.10.1", True)
    create = plan.of_kind(p.CREATE)[0]
    assert create.container is not None
    assert create.container.labels[LABEL_SPEC_HASH]  # the fingerprint travels as a label


def test_matching_engine_gives_an_empty_plan(stack: Stack) -> None:
    plan = make_plan(stack, converged(stack))
    assert plan.actions == []
    assert not plan
    assert set(plan.unchanged) == ALL_UNCHANGED
    assert plan.orphans == []
    assert summary(plan) == "built 0, created 0, recreated 0, started 0, reloaded 0, unchanged 9"


def test_changed_environment_recreates_only_that_service(stack: Stack) -> None:
    observed = converged(stack)
    changed = with_service(stack, "app", environment={"DB_HOST": "db", "APP_MODE": "debug"})
    plan = make_plan(changed, observed)
    assert kinds(plan) == [(p.RECREATE, "demo-app")]
    action = plan.actions[0]
    assert action.reason == "drifted: environment"
    assert action.wave == 1
    assert "container demo-php" in plan.unchanged


def test_changed_limits_name_the_field(stack: Stack) -> None:
    observed = converged(stack)
    changed = with_service(stack, "proxy", limits=replace(stack.service("proxy").limits,
                                                          memory="96m"))
    plan = make_plan(changed, observed)
    assert kinds(plan) == [(p.RECREATE, "demo-proxy")]
    assert "limits" in plan.actions[0].reason


def test_changed_build_context_rebuilds_and_recreates_its_users(stack: Stack) -> None:
    observed = replace(converged(stack), context_hashes={**HASHES, "php": "hash-php-2"})
    plan = make_plan(stack, observed)
    assert kinds(plan) == [
        (p.BUILD, "demo/php:latest"),
        (p.RECREATE, "demo-app"),
        (p.RECREATE, "demo-php"),
    ]
    assert plan.actions[0].reason == "build context changed"
    build = plan.actions[0].image
    assert build is not None and build.labels["pojemnik.context-hash"] == "hash-php-2"
    assert all("image rebuilt" in a.reason for a in plan.of_kind(p.RECREATE))


def test_container_running_an_older_image_id_is_recreated(stack: Stack) -> None:
    observed = with_container(converged(stack), "demo-db", image="sha256:old")
    plan = make_plan(stack, observed)
    assert kinds(plan) == [(p.RECREATE, "demo-db")]
    assert "image id" in plan.actions[0].reason


def test_stopped_container_is_started(stack: Stack) -> None:
    observed = with_container(converged(stack), "demo-db", state="exited")
    plan = make_plan(stack, observed)
    assert kinds(plan) == [(p.START, "demo-db")]
    assert plan.actions[0].reason == "container exited"
    assert plan.actions[0].wave == 0


def test_container_made_by_hand_is_recreated(stack: Stack) -> None:
    observed = with_container(converged(stack), "demo-proxy",
                              labels={LABEL_PROJECT: PROJECT, LABEL_SERVICE: "proxy"})
    plan = make_plan(stack, observed)
    assert kinds(plan) == [(p.RECREATE, "demo-proxy")]
    assert "older pojemnik or by hand" in plan.actions[0].reason


def test_orphan_is_reported_and_kept_by_default(stack: Stack) -> None:
    orphan = ObservedContainer("demo-old", "id-old",
                               {LABEL_PROJECT: PROJECT, LABEL_SERVICE: "old"}, "running")
    observed = converged(stack)
    observed = replace(observed, containers=[*observed.containers, orphan])
    plan = make_plan(stack, observed)
    assert plan.actions == []
    assert plan.orphans == ["demo-old"]
    assert "orphans: demo-old" in summary(plan)

    removing = make_plan(stack, observed, Options(remove_orphans=True))
    assert kinds(removing) == [(p.REMOVE_ORPHAN, "demo-old")]
    assert removing.actions[0].reason == "no longer declared"


def test_refresh_rebuilds_every_image(stack: Stack) -> None:
    plan = make_plan(stack, converged(stack), Options(refresh=True))
    builds = plan.of_kind(p.BUILD)
    assert [a.target for a in builds] == ["demo/db:latest", "demo/php:latest",
                                          "demo/proxy:latest"]
    assert all(a.reason.startswith("refresh") for a in builds)
    # Every container runs a rebuilt image.
    assert {a.target for a in plan.of_kind(p.RECREATE)} == {
        "demo-db", "demo-php", "demo-app", "demo-proxy"}


def test_missing_base_image_is_built_first(stack: Stack) -> None:
    observed = converged(stack)
    images = {k: v for k, v in observed.images.items() if k != stack.base_image}
    plan = make_plan(stack, replace(observed, images=images))
    assert plan.actions[0].kind == p.BUILD_BASE
    assert plan.actions[0].target == "debian:bookworm-slim"
    assert "base image not present" in plan.actions[0].reason


def test_no_build_option_skips_images(stack: Stack) -> None:
    plan = make_plan(stack, Observed(), Options(build=False))
    assert plan.of_kind(p.BUILD_BASE, p.BUILD) == []
    assert len(plan.of_kind(p.CREATE)) == 4


def test_only_some_services(stack: Stack) -> None:
    plan = make_plan(stack, Observed(), Options(only_services=frozenset({"db"})))
    assert kinds(plan) == [
        (p.BUILD_BASE, "debian:bookworm-slim"),
        (p.BUILD, "demo/db:latest"),
        (p.CREATE_NETWORK, "demo-isolated"),
        (p.CREATE_VOLUME, "demo-dbdata"),
        (p.CREATE_SECRET, "db_password"),
        (p.CREATE, "demo-db"),
    ]


def test_plan_is_pure(stack: Stack) -> None:
    observed = converged(stack)
    assert make_plan(stack, observed) == make_plan(stack, observed)
