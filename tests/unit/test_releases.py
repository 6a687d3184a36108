"""Releases kept for `rollback`: which are kept and pruned, which a rollback goes back to
and how (the plan), the record's round trip with secret values kept apart. No Docker."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from stackbuilders import DB_PASSWORD, converged, one, with_container, with_service
from test_updates import ISOLATED, SERVICES, rolling

from pojemnik import Stack
from pojemnik.declaration.model import LABEL_SPEC_HASH
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.hostfiles.files import LocalFiles
from pojemnik.operations.host.rollback import kept_image
from pojemnik.operations.records import releases as kept
from pojemnik.planning import plan as p
from pojemnik.planning.release_codec import decode, encode, spec_from_data, spec_to_data
from pojemnik.planning.releases import (
    History,
    Release,
    choose,
    deployed,
    identity,
    new_release,
    rollback_plan,
)
from pojemnik.planning.spec import ContainerSpec
from pojemnik.planning.state import Observed, ObservedContainer, ObservedImage
from pojemnik.planning.upstreams import in_slot


def specs(stack: Stack) -> dict[str, ContainerSpec]:
    """Each service's spec as a deploy applies it (with its drift label)."""
    plan = p.make_plan(stack, converged(stack).__class__())
    return {a.container.service: a.container for a in plan.of_kind(p.CREATE) if a.container}


def release_of(history: History, spec: ContainerSpec, image: str, deploy: int) -> Release:
    return new_release(history, spec, image, deploy, f"2026-11-27T10:00:{deploy:02}+00:00",
                       "me@here", "demo")


def run(history: History, spec: ContainerSpec, image: str, deploy: int, keep: int = 3
        ) -> tuple[History, Release | None, list[Release]]:
    return deployed(history, release_of(history, spec, image, deploy), keep)


def versions(stack: Stack, service: str, count: int) -> list[ContainerSpec]:
    """The service's spec with APP_VERSION 1..count added to its environment."""
    env = dict(stack.service(service).environment)
    return [specs(with_service(stack, service,
                               environment={**env, "APP_VERSION": str(n)}))[service]
            for n in range(1, count + 1)]


def test_a_deploy_keeps_the_newest_releases_and_drops_the_oldest(stack: Stack) -> None:
    history = History("app")
    tagged, dropped_all = [], []
    for deploy, spec in enumerate(versions(stack, "app", 4), start=1):
        history, fresh, dropped = run(history, spec, f"sha256:{deploy}", deploy)
        tagged.append(fresh.tag if fresh else None)
        dropped_all += dropped
    assert tagged == [f"demo/releases:app-{n}" for n in (1, 2, 3, 4)]
    assert [r.number for r in history.releases] == [2, 3, 4] and history.current == 4
    assert [r.number for r in dropped_all] == [1]
    assert history.previous() is not None and history.previous().number == 3


def test_the_same_container_again_is_no_new_release(stack: Stack) -> None:
    spec = specs(stack)["app"]
    history, _, _ = run(History("app"), spec, "sha256:a", 1)
    again, fresh, dropped = run(history, spec, "sha256:a", 2)
    assert again == history and fresh is None and dropped == []
    # On its standby addresses (a start-first update) it is the same release too.
    moved = in_slot(specs(rolling(stack))["app"], standby=True)
    assert identity(moved, "sha256:a") == identity(specs(rolling(stack))["app"], "sha256:a")
    # A rebuilt image is a new release.
    assert run(history, spec, "sha256:b", 2)[1] is not None


def test_after_a_rollback_a_deploy_keeps_what_ran_before_it(stack: Stack) -> None:
    one_, two, three, four = versions(stack, "app", 4)
    history = History("app")
    for deploy, spec in enumerate((one_, two, three), start=1):
        history, _, _ = run(history, spec, "sha256:x", deploy)
    history = replace(history, current=1)  # rolled back twice
    history, fresh, dropped = run(history, four, "sha256:x", 4)
    # Release 1 ran just before: it is the one to go back to, and it is kept.
    assert [r.number for r in history.releases] == [3, 1, 4]
    assert [r.number for r in dropped] == [2] and fresh is not None
    assert history.previous() is not None and history.previous().number == 1
    # Going forward to a kept release again: it moves, it is not tagged anew.
    history, fresh, _ = run(history, three, "sha256:x", 5)
    assert fresh is None and [r.number for r in history.releases] == [1, 4, 3]


def test_a_rollback_takes_the_services_of_the_last_deploy(stack: Stack) -> None:
    histories = {name: run(History(name), spec, "sha256:x", 1)[0]
                 for name, spec in specs(stack).items()}
    assert choose(histories, list(histories), None, 3).refusal == (
        "nothing to roll back to: app, db, php, proxy: running the oldest release kept "
        "(keep_images=3)")
    histories["app"] = run(histories["app"], versions(stack, "app", 2)[1], "sha256:x", 2)[0]
    choice = choose(histories, list(histories), None, 3)
    assert list(choice.targets) == ["app"] and choice.targets["app"].number == 1
    assert choice.notes == [] and choice.refusal is None
    # After it, the next rollback goes further back: here, nothing is older.
    histories["app"] = replace(histories["app"], current=1)
    assert choose(histories, list(histories), None, 3).refusal is not None
    named = choose(histories, list(histories), ["db"], 3)
    assert named.refusal is not None and named.refusal.startswith("db: release 1, running")
    assert choose({}, ["app"], None, 3).refusal.startswith("no release recorded")


def test_the_rollback_plan_goes_start_first_to_the_free_addresses(stack: Stack) -> None:
    stack = rolling(stack)
    first, second = versions(stack, "app", 2)
    history, _, _ = run(History("app"), first, "sha256:one", 1)
    second = in_slot(second, standby=True)  # the update went to the standby addresses
    history, _, _ = run(history, second, "sha256:two", 2)
    observed = with_container(converged(stack), "demo-app", labels=dict(second.labels),
                              image="sha256:two",
                              addresses={SERVICES: "10.9.20.105", ISOLATED: "10.9.10.105"})
    target = history.previous()
    assert target is not None
    plan = rollback_plan(stack, observed, {"app": target})
    (action,) = plan.actions
    assert action.kind == p.RECREATE and action.start_first and action.target == "demo-app"
    assert action.container is not None and action.container.image == "sha256:one"
    assert [a.ip for a in action.container.networks] == ["10.9.20.5", "10.9.10.5"]
    assert action.container.environment["APP_VERSION"] == "1"
    assert action.reason == ("rollback to release 1 (2026-11-27T10:00:01+00:00): environment, "
                             "image id (start-first)")
    # Its drift label names the declared image: the next plan compares image ids.
    assert json.loads(action.container.labels[LABEL_SPEC_HASH]) == \
        replace(action.container, image="demo/php:latest").fingerprint()
    # A record from before image ids were kept: by its tag.
    by_tag = rollback_plan(stack, observed, {"app": replace(target, image_id="")}).actions[0]
    assert by_tag.container is not None and by_tag.container.image == "demo/releases:app-1"
    assert plan.proxies  # the proxy's upstream is switched as in a deploy


def test_a_stop_first_service_is_rolled_back_stop_first(stack: Stack) -> None:
    first, second = versions(stack, "db", 2)
    history, _, _ = run(History("db"), first, "sha256:x", 1)
    history, _, _ = run(history, second, "sha256:x", 2)
    observed = with_container(converged(stack), "demo-db", labels=dict(second.labels),
                              image="sha256:x")
    (action,) = rollback_plan(stack, observed, {"db": history.releases[0]}).actions
    assert action.kind == p.RECREATE and not action.start_first
    assert action.reason.endswith(": environment")


def test_the_record_round_trip_keeps_every_field(stack: Stack) -> None:
    for spec in [*specs(rolling(stack)).values(), in_slot(specs(rolling(stack))["app"], True)]:
        def text(spec: ContainerSpec) -> str:
            return json.dumps(spec_to_data(spec), sort_keys=True)

        back = spec_from_data(json.loads(text(spec)))
        assert text(back) == text(spec)
        assert back.fingerprint() == spec.fingerprint()
        assert type(back.update) is type(spec.update)


def test_secret_values_are_kept_apart_from_the_record(stack: Stack) -> None:
    spec = specs(stack)["php"]  # DB_PASSWORD in its environment
    history, _, _ = run(History("php"), spec, "sha256:x", 1)
    record, hidden = encode(history)
    assert DB_PASSWORD not in record and hidden is not None and DB_PASSWORD in hidden
    assert decode(record, hidden) == history
    lost = decode(record, None)
    assert lost.releases[0].secrets_missing == ("DB_PASSWORD",)
    history, _, _ = run(history, versions(stack, "php", 1)[0], "sha256:x", 2)
    record, hidden = encode(history)
    refused = choose({"php": decode(record, None)}, ["php"], ["php"], 3).refusal
    assert refused is not None and "DB_PASSWORD" in refused and DB_PASSWORD not in refused


class FakeEngine:
    def __init__(self, images: dict[str, str]) -> None:
        self.images = dict(images)
        self.in_use: set[str] = set()
        self.running: dict[str, str] = {}  # container name -> the image id it runs

    def image_ids(self) -> dict[str, str]:
        return dict(self.images)

    def observe(self, project: str, ports: object) -> Observed:
        return Observed(containers=[ObservedContainer(name, name, {}, "running", image)
                                    for name, image in self.running.items()])

    def made(self, spec: ContainerSpec, image_id: str) -> p.Action:
        """A deploy built `image_id` under the spec's tag and made its container."""
        self.images[spec.image] = self.running[spec.name] = image_id
        return p.Action(p.RECREATE, spec.name, "drifted", container=spec)

    def tag_image(self, image: str, ref: str) -> None:
        self.images[ref] = image

    def remove_tag(self, ref: str) -> bool:
        if ref in self.in_use:
            return False
        self.images.pop(ref, None)
        return True


def test_deploys_tag_the_release_images_and_untag_the_oldest(stack: Stack) -> None:
    files, said = LocalFiles(), []
    engine = FakeEngine({})
    stack = replace(stack, keep_images=3)
    for n, spec in enumerate(versions(stack, "php", 4), start=1):
        action = engine.made(spec, f"sha256:{n}")  # rebuilt each time
        kept.remember(stack, engine, files, [action], said.append)  # type: ignore[arg-type]
    tags = sorted(t for t in engine.images if "/releases:" in t)
    assert tags == ["demo/releases:php-2", "demo/releases:php-3", "demo/releases:php-4"]
    assert "release image demo/releases:php-1: removed (keep_images=3)" in said
    history = kept.load(stack, files, "php")
    assert history.current == 4 and history.running() is not None
    assert history.running().spec.environment["DB_PASSWORD"] == DB_PASSWORD
    record = Path(kept.record_dir(stack)) / "php.json"
    hidden = Path(kept.secrets_dir(stack)) / "release-env-php.json"
    assert DB_PASSWORD not in record.read_text() and DB_PASSWORD in hidden.read_text()
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert stat.S_IMODE(hidden.stat().st_mode) == 0o600


def test_a_release_image_a_container_uses_keeps_its_tag(stack: Stack) -> None:
    files, said = LocalFiles(), []
    engine = FakeEngine({"demo/releases:app-9": "sha256:old"})  # tagged, never recorded
    engine.in_use.add("demo/releases:app-9")
    spec = specs(stack)["app"]
    kept.remember(stack, engine, files, [engine.made(spec, "sha256:new")],
                  said.append)  # type: ignore[arg-type]
    assert "release image demo/releases:app-9: kept, a container still uses it" in said
    assert "demo/releases:app-1" in engine.images


def test_a_release_records_the_image_its_container_runs_not_what_the_tag_names_now(
        stack: Stack) -> None:
    """An `images.push` (or a build) can move `:latest` while the deploy runs: the
    release is the image the container was made from, and its kept tag names that."""
    files, said = LocalFiles(), []
    engine = FakeEngine({})
    spec = specs(stack)["app"]
    action = engine.made(spec, "sha256:ran")
    engine.images[spec.image] = "sha256:pushed-meanwhile"
    kept.remember(stack, engine, files, [action], said.append)  # type: ignore[arg-type]
    running = kept.load(stack, files, "app").running()
    assert running is not None and running.image_id == "sha256:ran"
    assert engine.images["demo/releases:app-1"] == "sha256:ran"


def test_a_rollback_runs_the_release_image_by_id_even_when_its_tag_moved(
        stack: Stack) -> None:
    first, second = versions(stack, "db", 2)
    history, _, _ = run(History("db"), first, "sha256:one", 1)
    history, _, _ = run(history, second, "sha256:two", 2)
    target = history.previous()
    assert target is not None and target.image == "sha256:one"
    # Its tag now names another image (a deploy that numbered its release the same).
    observed = replace(with_container(converged(stack), "demo-db", labels=dict(second.labels),
                                      image="sha256:two"),
                       images={target.tag: ObservedImage(target.tag, "sha256:other"),
                               "demo/postgres:latest": ObservedImage("x", "sha256:one")})
    (action,) = rollback_plan(stack, observed, {"db": target}).actions
    assert action.container is not None and action.container.image == "sha256:one"
    assert kept_image(observed, target)
    assert not kept_image(replace(observed, images={}), target)


def test_a_record_without_image_ids_still_reads_and_rolls_back_by_tag(stack: Stack) -> None:
    first, second = versions(stack, "db", 2)
    history, _, _ = run(History("db"), first, "sha256:one", 1)
    history, _, _ = run(history, second, "sha256:two", 2)
    record, hidden = encode(history)
    data = json.loads(record)
    for release in data["releases"]:
        del release["image_id"]
    old = decode(json.dumps(data), hidden)
    target = old.previous()
    assert target is not None and target.image_id == "" and target.image == "demo/releases:db-1"
    observed = with_container(converged(stack), "demo-db", labels=dict(second.labels),
                              image="sha256:two")
    (action,) = rollback_plan(stack, observed, {"db": target}).actions
    assert action.container is not None and action.container.image == "demo/releases:db-1"
    assert not kept_image(observed, target)
    tagged = replace(observed, images={target.tag: ObservedImage(target.tag, "sha256:one")})
    assert kept_image(tagged, target)


@pytest.mark.parametrize("keep", [0, -1, "3"])
def test_keep_images_must_be_a_positive_number(stack: Stack, keep: object) -> None:
    problem = one(check_declaration(replace(stack, keep_images=keep)))  # type: ignore[arg-type]
    assert "keep_images" in problem.where and "1 or more" in problem.fix


def test_a_password_in_a_url_is_kept_apart_from_the_record(stack: Stack) -> None:
    url = "postgres://app:hunter2-in-a-url@db/app"
    spec = replace(specs(stack)["php"], environment={"DATABASE_URL": url})
    record, hidden = encode(run(History("php"), spec, "sha256:x", 1)[0])
    assert "hunter2-in-a-url" not in record and hidden is not None and url in hidden


def test_after_a_failed_stop_first_update_rollback_puts_back_what_served(stack: Stack) -> None:
    """A new db image failed its health check: the old container is gone, and the
    release that served (2) is where a rollback goes, named or not; never one further
    back (1: an older PostgreSQL on newer data), and never refused with one kept."""
    files, said = LocalFiles(), []
    engine = FakeEngine({})
    db1, db2, db3 = versions(stack, "db", 3)
    for n, spec in enumerate((db1, db2), start=1):
        kept.remember(stack, engine, files, [engine.made(spec, f"sha256:{n}")],  # type: ignore[arg-type]
                      said.append)
    app = versions(stack, "app", 1)[0]
    kept.remember(stack, engine, files, [engine.made(app, "sha256:app")],  # type: ignore[arg-type]
                  said.append)  # a later deploy, of another service
    engine.running.pop(db3.name)  # stop-first: the old one removed, the new one failed
    failed = p.Plan("demo", [p.Action(p.RECREATE, db3.name, "drifted", container=db3)])
    kept.remember(stack, engine, files, [], said.append, failed=failed)  # type: ignore[arg-type]
    assert "release db 2: no longer running after this failed deploy" in said[-1]
    histories = kept.load_all(stack, files)
    assert histories["db"].current == 2 and histories["db"].broken is not None
    assert decode(*encode(histories["db"])) == histories["db"]  # kept in the record
    named = choose(histories, list(histories), ["db"], 3)
    assert named.targets["db"].number == 2
    unnamed = choose(histories, list(histories), None, 3)
    assert {n: r.number for n, r in unnamed.targets.items()} == {"db": 2}
    one_kept = {**histories, "db": replace(histories["db"],
                                           releases=histories["db"].releases[-1:])}
    assert choose(one_kept, list(histories), ["db"], 1).targets["db"].number == 2
    plan = rollback_plan(stack, Observed(), named.targets, {"db": True})
    assert "the last release that served, before a deploy that failed" in plan.actions[0].reason
    # A deploy that brings release 2 back (or any other) ends the mark.
    again, _, _ = run(histories["db"], db2, "sha256:2", 9)
    assert again.broken is None and again.current == 2


def test_a_failed_deploy_that_never_reached_a_service_marks_nothing(stack: Stack) -> None:
    files, said = LocalFiles(), []
    engine = FakeEngine({})
    db1, db2 = versions(stack, "db", 2)
    kept.remember(stack, engine, files, [engine.made(db1, "sha256:1")],  # type: ignore[arg-type]
                  said.append)
    # The old container still runs (its labels are not the new spec's): not taken down.
    failed = p.Plan("demo", [p.Action(p.RECREATE, db2.name, "drifted", container=db2)])
    kept.remember(stack, engine, files, [], said.append, failed=failed)  # type: ignore[arg-type]
    assert kept.load(stack, files, "db").broken is None
