"""Retention and `prune` (pure): which releases a service keeps, and that prune picks only
this project's objects: never its built images, volumes, another project's or anyone's."""

from __future__ import annotations

from dataclasses import replace

from test_releases import run, versions

from pojemnik import Stack
from pojemnik.planning.project_images import StoredImage
from pojemnik.planning.releases import History, retained
from pojemnik.planning.retention import StoppedContainer, prune_plan

OURS = {"pojemnik.project": "demo"}


def deployed_times(stack: Stack, count: int, keep: int) -> History:
    history = History("app")
    for deploy, spec in enumerate(versions(stack, "app", count), start=1):
        history, _, _ = run(history, spec, f"sha256:{deploy}", deploy, keep=keep)
    return history


def test_eight_deploys_keep_the_newest_five(stack: Stack) -> None:
    history = deployed_times(stack, 8, keep=5)
    assert [r.number for r in history.releases] == [4, 5, 6, 7, 8]
    assert history.target() is not None and history.target().number == 7


def test_keep_one_still_keeps_where_rollback_goes(stack: Stack) -> None:
    history = deployed_times(stack, 3, keep=1)
    assert [r.number for r in history.releases] == [2, 3]
    assert history.target() is not None and history.target().number == 2


def test_after_rollbacks_the_running_and_its_target_stay_when_trimmed(stack: Stack) -> None:
    history = replace(deployed_times(stack, 5, keep=5), current=2)  # rolled back thrice
    after, dropped = retained(history, 3)
    assert [r.number for r in after.releases] == [1, 2, 5]  # target, running, newest
    assert [r.number for r in dropped] == [3, 4]
    assert retained(after, 3) == (after, [])


def test_prune_picks_only_the_projects_leftovers(stack: Stack) -> None:
    history = deployed_times(stack, 4, keep=5)
    kept_tags = tuple(r.tag for r in history.releases)
    images = [
        StoredImage("sha256:built", ("demo/app:latest",), OURS),  # the stack's image: kept
        StoredImage("sha256:releases", kept_tags, OURS),
        StoredImage("sha256:orphan", ("demo/releases:app-9",), OURS),  # a killed deploy's
        StoredImage("sha256:gone", ("demo/releases:oldsvc-1",), OURS),  # no record: kept
        StoredImage("sha256:failed", ("demo/failed-builds:app",), {}),
        StoredImage("sha256:old", (), OURS),  # a rebuild's predecessor
        StoredImage("sha256:theirs", ("demo2/releases:app-1",), {"pojemnik.project": "demo2"}),
        StoredImage("sha256:dangling2", (), {"pojemnik.project": "demo2"}),
        StoredImage("sha256:stray", (), {}),  # nobody's
        StoredImage("sha256:base", ("debian:bookworm-slim", "demo/foreign:1"), {}),
    ]
    containers = [StoppedContainer("demo-app", "exited"),  # a declared service, stopped
                  StoppedContainer("demo-app-next", "exited"),
                  StoppedContainer("demo-once", "created"),
                  StoppedContainer("demo-busy", "running"),
                  StoppedContainer("demo-loop", "restarting")]
    plan = prune_plan("demo", images, {"app": history}, containers, {"demo-app"}, keep=2)
    assert plan.containers == ["demo-app-next", "demo-once"]
    assert plan.release_tags == ["demo/releases:app-1", "demo/releases:app-2",
                                 "demo/releases:app-9"]
    assert plan.failed_builds == ["demo/failed-builds:app"]
    assert plan.dangling == ["sha256:old"]
    assert [r.number for r in plan.trimmed["app"].releases] == [3, 4]
    assert plan.as_data()["records_trimmed"] == {"app": [3, 4]}


def test_nothing_to_prune_is_empty(stack: Stack) -> None:
    history = deployed_times(stack, 2, keep=5)
    images = [StoredImage("sha256:r", tuple(r.tag for r in history.releases), OURS)]
    plan = prune_plan("demo", images, {"app": history}, [], set(), keep=5)
    assert plan.empty()
