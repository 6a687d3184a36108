"""make_swarm_plan(stack, observed, swarm state): pure; converge, not recreate."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from stackbuilders import HASHES, with_service
from swarmbuilders import MANAGER, WORKER, applied, fresh_state, images_built, kinds, on_swarm

from pojemnik import Stack
from pojemnik.declaration.model import LABEL_SPEC_HASH
from pojemnik.planning import plan as p
from pojemnik.planning.plan import Options
from pojemnik.planning.state import Observed
from pojemnik.planning.swarm import plan as sp
from pojemnik.planning.swarm.plan import make_swarm_plan, swarm_summary
from pojemnik.planning.swarm.state import SwarmState


@pytest.fixture
def swarm(stack: Stack) -> Stack:
    return on_swarm(stack)


@pytest.fixture
def built(swarm: Stack) -> Observed:
    return images_built(swarm)


def test_a_fresh_swarm_gets_overlays_configs_secrets_and_services_in_waves(
        swarm: Stack, built: Observed) -> None:
    plan = make_swarm_plan(swarm, built, fresh_state(swarm))
    assert not plan.prepare  # images built, secret file made
    assert kinds(plan)[:2] == [(sp.CREATE_NETWORK, "demo-isolated"),
                               (sp.CREATE_NETWORK, "demo-services")]
    configs = [a.config for a in plan.of_kind(sp.CREATE_CONFIG)]
    # One config per file: php and app mount the same one, each at its own target.
    assert sorted(c.path for c in configs if c) == ["config/proxy/nginx.conf",
                                                    "www/site/index.html"]
    php = next(a.service for a in plan.of_kind(sp.CREATE_SERVICE) if a.target == "demo-php")
    assert [(c.target, c.name) for c in php.configs] == [
        ("/srv/site/index.html", next(c.name for c in configs if c and c.path.startswith("www")))]
    assert [a.target for a in plan.of_kind(sp.CREATE_SWARM_SECRET)] == [
        "demo-db_password-5e5e5e5e5e"]
    services = {a.target: a.wave for a in plan.of_kind(sp.CREATE_SERVICE)}
    assert services == {"demo-db": 0, "demo-app": 1, "demo-php": 1, "demo-proxy": 2}
    assert plan.of_kind(sp.CREATE_SERVICE)[0].service.image_id == "sha256:db"  # pinned


def test_a_second_deploy_changes_nothing(swarm: Stack, built: Observed) -> None:
    state = applied(swarm, built, fresh_state(swarm))
    plan = make_swarm_plan(swarm, built, state)
    assert not plan and plan.actions == []
    assert "service demo-proxy" in plan.unchanged and "network demo-services" in plan.unchanged
    assert swarm_summary(plan).startswith("built 0, created 0, updated 0, configs 0")


def test_one_env_change_updates_one_service(swarm: Stack, built: Observed) -> None:
    state = applied(swarm, built, fresh_state(swarm))
    changed = with_service(swarm, "app", environment={"DB_HOST": "db", "APP_MODE": "debug"})
    plan = make_swarm_plan(changed, built, state)
    assert kinds(plan) == [(sp.UPDATE_SERVICE, "demo-app")]
    assert plan.actions[0].reason == "drifted: environment (stop-first)"
    assert plan.actions[0].drift == ("environment",)


def test_a_changed_config_file_is_a_new_config_and_rolls_only_its_services(
        swarm: Stack, built: Observed) -> None:
    state = applied(swarm, built, fresh_state(swarm))
    (swarm.root / "config" / "proxy" / "nginx.conf").write_text("events { }\n")
    plan = make_swarm_plan(swarm, built, replace(state, files=fresh_state(swarm).files))
    assert [k for k, _ in kinds(plan)] == [sp.CREATE_CONFIG, sp.UPDATE_SERVICE,
                                           sp.REMOVE_CONFIG]
    new, update, old = plan.actions
    assert update.target == "demo-proxy" and update.drift == ("configs",)
    assert new.target != old.target and "nginx.conf" in new.target and "nginx.conf" in old.target


def test_a_site_file_added_or_removed_rolls_its_services(swarm: Stack,
                                                        built: Observed) -> None:
    """Site files (not only watched config) reach the nodes: a file added under a
    read-only bind is a new config, a removed one's config goes (test_files_plan: none
    for a writable bind inside it)."""
    state = applied(swarm, built, fresh_state(swarm))
    (swarm.root / "www" / "site" / "new.html").write_text("<p>new</p>\n")
    (swarm.root / "www" / "site" / "index.html").unlink()
    plan = make_swarm_plan(swarm, built, replace(state, files=fresh_state(swarm).files))
    assert [k for k, _ in kinds(plan)] == [sp.CREATE_CONFIG, sp.UPDATE_SERVICE,
                                           sp.UPDATE_SERVICE, sp.REMOVE_CONFIG]
    assert "new.html" in plan.actions[0].target and "index.html" in plan.actions[-1].target
    assert {a.target for a in plan.of_kind(sp.UPDATE_SERVICE)} == {"demo-php", "demo-app"}


def test_a_rebuilt_image_updates_its_services(swarm: Stack, built: Observed) -> None:
    state = applied(swarm, built, fresh_state(swarm))
    changed = replace(built, context_hashes={**HASHES, "proxy": "changed"})
    plan = make_swarm_plan(swarm, changed, state)
    assert [(a.kind, a.target) for a in plan.prepare.actions] == [(p.BUILD, "demo/proxy:latest")]
    assert kinds(plan) == [(sp.UPDATE_SERVICE, "demo-proxy")]
    assert plan.actions[0].service.image_id == ""  # taken once it is built
    assert plan.actions[0].reason.startswith("drifted: image")


def test_a_missing_secret_file_is_made_first(swarm: Stack) -> None:
    empty = replace(images_built(swarm), secrets=[])
    plan = make_swarm_plan(swarm, empty, fresh_state(swarm, secret_digests={}))
    assert [(a.kind, a.target) for a in plan.prepare.actions] == [
        (p.CREATE_SECRET, "db_password")]


def test_data_is_pinned_to_the_manager_unless_placed(swarm: Stack, built: Observed) -> None:
    plan = make_swarm_plan(swarm, built, fresh_state(swarm))
    db = next(a.service for a in plan.of_kind(sp.CREATE_SERVICE) if a.target == "demo-db")
    assert db.constraints == ["node.id==node-m"]
    placed = with_service(swarm, "db", placement=["node.labels.db==true"])
    plan = make_swarm_plan(placed, built, fresh_state(placed))
    db = next(a.service for a in plan.of_kind(sp.CREATE_SERVICE) if a.target == "demo-db")
    assert db.constraints == ["node.labels.db==true"]


def test_stateless_services_update_start_first_and_roll_back(example: Stack) -> None:
    swarm = replace(on_swarm(example), target="swarm")
    plan = make_swarm_plan(swarm, Observed(), fresh_state(swarm, files={}))
    specs = {a.service.service: a.service for a in plan.of_kind(sp.CREATE_SERVICE)
             if a.service}
    assert specs["app"].update_order == "start-first" and specs["app"].replicas == 2
    assert specs["db"].update_order == "stop-first"
    assert specs["php"].environment["FPM_ALLOWED_CLIENTS"] == "proxy"
    assert [n.aliases for n in specs["app"].networks] == [["app"], ["app"]]
    assert specs["proxy"].ports[0].mode == "host" and specs["app"].endpoint_mode == "dnsrr"
    upstreams = {c.target: c.content for c in specs["proxy"].configs if c.content}
    assert upstreams["/etc/pojemnik/upstreams/app.conf"].endswith(
        "map $host $pojemnik_app { default app:8080; }\n")
    assert "resolver 127.0.0.11 valid=1s" in upstreams["/etc/pojemnik/upstreams/_resolver.conf"]


def test_a_rolled_back_update_is_tried_again_and_said(swarm: Stack, built: Observed) -> None:
    state = applied(swarm, built, fresh_state(swarm))
    changed = with_service(swarm, "app", environment={"APP_MODE": "broken"})
    rolled = [replace(s, update_state="rollback_completed",
                      update_message="update rolled back due to failure or early termination")
              if s.name == "demo-app" else s for s in state.services]
    plan = make_swarm_plan(changed, built, replace(state, services=rolled))
    assert "the last update was rolled back: update rolled back" in plan.actions[0].reason


def test_orphans_are_reported_and_removed_only_when_asked(swarm: Stack, built: Observed
                                                          ) -> None:
    state = applied(swarm, built, fresh_state(swarm))
    fewer = replace(swarm, services=[s for s in swarm.services if s.name != "app"])
    fewer = with_service(fewer, "proxy", depends_on=["php"])
    plan = make_swarm_plan(fewer, built, state)
    assert plan.orphans == ["demo-app"] and plan.actions == []
    plan = make_swarm_plan(fewer, built, state, Options(remove_orphans=True))
    assert kinds(plan) == [(sp.REMOVE_SERVICE, "demo-app")]


def test_a_mode_change_replaces_the_service(swarm: Stack, built: Observed) -> None:
    state = applied(swarm, built, fresh_state(swarm))
    plan = make_swarm_plan(with_service(swarm, "app", mode="global"), built, state)
    assert kinds(plan) == [(sp.REPLACE_SERVICE, "demo-app")]
    assert "cannot change a service's mode" in plan.actions[0].reason


def test_a_service_made_by_hand_is_updated(swarm: Stack, built: Observed) -> None:
    state = applied(swarm, built, fresh_state(swarm))
    services = [replace(s, labels={k: v for k, v in s.labels.items() if k != LABEL_SPEC_HASH})
                if s.name == "demo-php" else s for s in state.services]
    plan = make_swarm_plan(swarm, built, replace(state, services=services))
    assert kinds(plan) == [(sp.UPDATE_SERVICE, "demo-php")]


def test_plan_without_a_swarm_has_no_pin(swarm: Stack, built: Observed) -> None:
    plan = make_swarm_plan(swarm, built, SwarmState(files=fresh_state(swarm).files))
    db = next(a.service for a in plan.of_kind(sp.CREATE_SERVICE) if a.target == "demo-db")
    assert db.constraints == []
    assert {MANAGER.id, WORKER.id} == {"node-m", "node-w"}


def test_config_names_fit_swarms_limit(tmp_path: Path) -> None:
    from pojemnik.planning.swarm.spec import content_name

    name = content_name("a-long-project-name", "www/" + "deep/" * 20 + "index.html", "ab" * 32)
    assert len(name) <= 64 and name.endswith("index.html-abababab" + "ab")
    assert name.startswith("a-long-project-name-")


def test_an_empty_file_is_a_config_of_one_newline(swarm: Stack, built: Observed) -> None:
    (swarm.root / "www" / "site" / "__init__.py").write_text("")
    plan = make_swarm_plan(swarm, built, fresh_state(swarm))
    empty = next(a.config for a in plan.of_kind(sp.CREATE_CONFIG)
                 if a.config and a.config.path.endswith("__init__.py"))
    assert empty.content == "\n" and empty.target == "/srv/app/__init__.py"
