"""Planning for live config reloads and for package refreshes that fall due."""

from __future__ import annotations

from dataclasses import replace

from stackbuilders import converged, with_service

from pojemnik import Reload, Stack
from pojemnik.declaration.model import LABEL_CONFIG_HASH, LABEL_REFRESHED
from pojemnik.planning import plan as p
from pojemnik.planning.plan import Options, make_plan
from pojemnik.planning.render import summary
from pojemnik.planning.state import Observed

NGINX = Reload(command=["nginx", "-s", "reload"], check=["nginx", "-t"])
NOW = 1_800_000_000.0
DAY = 86400.0


def reloading(stack: Stack) -> Stack:
    return with_service(stack, "proxy", reload=NGINX)


def with_config(observed: Observed, proxy_hash: str) -> Observed:
    return replace(observed, config_hashes={"proxy": proxy_hash})


def test_watched_paths_default_to_config_binds(stack: Stack) -> None:
    proxy = reloading(stack).service("proxy")
    assert proxy.watched() == ["config/proxy"]
    assert stack.service("php").watched() == []  # no reload declared: nothing watched


def test_new_container_records_the_config_it_starts_with(stack: Stack) -> None:
    plan = make_plan(reloading(stack), Observed(config_hashes={"proxy": "c1"}))
    create = next(a for a in plan.of_kind(p.CREATE) if a.target == "demo-proxy")
    assert create.container is not None
    assert create.container.labels[LABEL_CONFIG_HASH] == "c1"


def test_changed_config_reloads_instead_of_recreating(stack: Stack) -> None:
    stack = reloading(stack)
    observed = converged_with_config(stack, "c1")
    assert not make_plan(stack, observed)
    plan = make_plan(stack, with_config(observed, "c2"))
    assert [(a.kind, a.target) for a in plan.actions] == [(p.RELOAD, "demo-proxy")]
    assert plan.actions[0].reason == "config changed: config/proxy"
    assert "reloaded 1" in summary(plan)


def test_a_recorded_reload_counts_over_the_creation_label(stack: Stack) -> None:
    stack = reloading(stack)
    observed = with_config(converged_with_config(stack, "c1"), "c2")
    proxy = observed.container("demo-proxy")
    assert proxy is not None
    reloaded = replace(observed, applied_config={proxy.id: "c2"})
    assert not make_plan(stack, reloaded)


def test_config_change_on_a_drifted_container_is_a_recreate_only(stack: Stack) -> None:
    stack = reloading(stack)
    observed = with_config(converged_with_config(stack, "c1"), "c2")
    changed = with_service(stack, "proxy", limits=replace(stack.service("proxy").limits,
                                                           memory="96m"))
    plan = make_plan(changed, observed)
    assert [(a.kind, a.target) for a in plan.actions] == [(p.RECREATE, "demo-proxy")]


def converged_with_config(stack: Stack, config: str) -> Observed:
    first = make_plan(stack, Observed(config_hashes={"proxy": config}))
    observed = converged(stack)
    containers = []
    for container in observed.containers:
        planned = next(a.container for a in first.actions if a.target == container.name)
        assert planned is not None
        containers.append(replace(container, labels=dict(planned.labels)))
    return replace(observed, containers=containers, config_hashes={"proxy": config})


def aged(observed: Observed, days: float, label: bool = True) -> Observed:
    images = {}
    for tag, image in observed.images.items():
        labels = dict(image.labels)
        if label:
            labels[LABEL_REFRESHED] = str(int(NOW - days * DAY))
        images[tag] = replace(image, labels=labels, created=NOW - days * DAY)
    return replace(observed, images=images)


def test_old_packages_make_a_refresh_due(stack: Stack) -> None:
    observed = aged(converged(stack), days=45)
    plan = make_plan(stack, observed, Options(now=NOW))
    builds = plan.of_kind(p.BUILD)
    assert {a.target for a in builds} == {"demo/db:latest", "demo/php:latest",
                                          "demo/proxy:latest"}
    assert all(a.fresh for a in builds)
    assert builds[0].reason == "refresh due: packages 45 days old (refresh_after_days=30)"
    assert builds[0].image is not None
    assert builds[0].image.labels[LABEL_REFRESHED] == str(int(NOW))


def test_recent_packages_or_no_clock_need_no_refresh(stack: Stack) -> None:
    assert not make_plan(stack, aged(converged(stack), days=10), Options(now=NOW))
    assert not make_plan(stack, aged(converged(stack), days=400))  # now unknown: no check
    never = replace(stack, refresh_after_days=None)
    assert not make_plan(never, aged(converged(stack), days=400), Options(now=NOW))


def test_the_image_date_is_the_fallback_for_the_refresh_label(stack: Stack) -> None:
    plan = make_plan(stack, aged(converged(stack), days=31, label=False), Options(now=NOW))
    assert len(plan.of_kind(p.BUILD)) == 3


def test_a_cached_rebuild_keeps_the_refresh_date(stack: Stack) -> None:
    observed = aged(converged(stack), days=5)
    changed = replace(observed, context_hashes={**observed.context_hashes, "db": "new"})
    plan = make_plan(stack, changed, Options(now=NOW))
    (build,) = plan.of_kind(p.BUILD)
    assert build.reason == "build context changed" and not build.fresh
    assert build.image is not None
    assert build.image.labels[LABEL_REFRESHED] == str(int(NOW - 5 * DAY))


def test_refresh_requested_skips_the_cache(stack: Stack) -> None:
    plan = make_plan(stack, converged(stack), Options(refresh=True, now=NOW))
    assert all(a.fresh for a in plan.of_kind(p.BUILD))


def test_changed_subnet_recreates_the_network_and_its_containers_only_when_asked(
        stack: Stack) -> None:
    from pojemnik.planning.checks import validate

    observed = converged(stack)
    networks = [replace(n, subnets=["10.9.99.0/24"]) if n.name == "demo-services" else n
                for n in observed.networks]
    moved = replace(observed, networks=networks)
    assert any("--recreate-networks" in p.fix for p in validate(stack, moved))
    assert validate(stack, moved, recreate_networks=True) == []
    plan = make_plan(stack, moved, Options(recreate_networks=True))
    assert [(a.kind, a.target) for a in plan.actions] == [
        (p.RECREATE_NETWORK, "demo-services"), (p.RECREATE, "demo-app"),
        (p.RECREATE, "demo-php"), (p.RECREATE, "demo-proxy")]  # not demo-db: isolated only
    assert plan.actions[0].reason == "subnet 10.9.99.0/24 -> 10.9.20.0/24"
    assert plan.actions[3].reason == "its network is recreated: demo-services"
