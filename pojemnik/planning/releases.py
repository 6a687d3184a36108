"""Releases: what each deploy ran per service, kept so `invoke rollback` can go back.

A release is the container spec a deploy applied (image, environment, mounts, limits,
everything the container is made from) and the image it ran, kept on the engine under
the tag `<project>/releases:<service>-<n>`. A service's releases are ordered by when
each last went live through a deploy; `current` is the one running. A deploy puts the
release it replaced, then the new one, last (one identical to a kept release is that
release again, not a new one) and keeps the newest `keep_images` (always with the
running one and the one a rollback goes to). A rollback only moves
`current` one back, so a second rollback goes further back; the next deploy goes
forward to what the declaration says. Pure functions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace

from ..declaration.model import LABEL_SPEC_HASH, Stack
from ..declaration.order import start_waves, started_first
from . import plan as p
from .spec import ContainerSpec
from .state import Observed, ObservedContainer
from .upstreams import proxy_upstreams, replacement_slot

REPOSITORY = "releases"  # the tags' repository: <project>/releases


@dataclass(frozen=True)
class Release:
    number: int  # per service, from 1
    deploy: int  # the deploy that last made it current (its start, ns since the epoch)
    when: str  # that deploy's time, ISO 8601
    who: str  # user@host that ran it
    image_id: str  # the image its container ran; "" in a record that has none
    tag: str  # the image, kept under this tag

    @property
    def image(self) -> str:
        """What a rollback runs: the image by id (a tag can be moved), else by its tag."""
        return self.image_id or self.tag
    identity: str  # equal for two releases that would make the same container
    spec: ContainerSpec
    secrets_missing: tuple[str, ...] = ()  # secret values no longer found: cannot be used


@dataclass(frozen=True)
class History:
    service: str
    releases: tuple[Release, ...] = ()  # oldest first
    current: int | None = None  # the release running
    # A deploy (its id) that failed after removing the current release's container (a
    # stop-first update whose new container never got ready): `current` is then the
    # last release that served, and where a rollback goes.
    broken: int | None = None

    def running(self) -> Release | None:
        return next((r for r in self.releases if r.number == self.current), None)

    def target(self) -> Release | None:
        """Where a rollback goes: the last release that served, when a failed deploy took
        it down; else the one before the running one."""
        return self.running() if self.broken is not None else self.previous()

    def previous(self) -> Release | None:
        """The release before the running one."""
        numbers = [r.number for r in self.releases]
        if self.current not in numbers:
            return None
        index = numbers.index(self.current)
        return self.releases[index - 1] if index > 0 else None


def release_tag(project: str, service: str, number: int) -> str:
    return f"{project}/{REPOSITORY}:{service}-{number}"


def identity(spec: ContainerSpec, image_id: str) -> str:
    """Which container the spec makes from this image; either address slot of a
    start-first service is the same release."""
    fingerprint = spec.fingerprint()
    fingerprint.pop("networks")
    slots = sorted(json.dumps([asdict(a) for a in slot], sort_keys=True)
                   for slot in (spec.networks, spec.standby) if slot)
    text = json.dumps([fingerprint, slots, image_id], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def new_release(history: History, spec: ContainerSpec, image_id: str, deploy: int,
                when: str, who: str, project: str) -> Release:
    number = max((r.number for r in history.releases), default=0) + 1
    return Release(number, deploy, when, who, image_id,
                   release_tag(project, history.service, number), identity(spec, image_id),
                   spec)


def deployed(history: History, release: Release, keep: int
             ) -> tuple[History, Release | None, list[Release]]:
    """After a deploy ran `release`: the history, the release to tag (None: it is a kept
    one again), and the releases no longer kept (their tags go)."""
    running = history.running()
    same = next((r for r in history.releases if r.identity == release.identity), None)
    if same is not None and running is not None and same.number == running.number:
        return replace(history, broken=None), None, []  # serving again
    fresh = same is None
    if same is not None:
        release = replace(same, deploy=release.deploy, when=release.when, who=release.who,
                          spec=release.spec)
    moved = {release.number} | ({running.number} if running else set())
    order = [r for r in history.releases if r.number not in moved]
    order += [running] if running else []
    order.append(release)
    after, dropped = retained(History(history.service, tuple(order), release.number), keep)
    return after, release if fresh else None, dropped


def retained(history: History, keep: int) -> tuple[History, list[Release]]:
    """The history keeping the newest `keep` releases, the running one and the rollback
    target always among them; and the releases it no longer keeps (oldest first)."""
    must = {r.number for r in (history.running(), history.target()) if r is not None}
    room = max(keep, 1) - len(must)
    newest = [r.number for r in reversed(history.releases) if r.number not in must]
    kept = must | set(newest[:max(room, 0)])
    return (replace(history, releases=tuple(r for r in history.releases if r.number in kept)),
            [r for r in history.releases if r.number not in kept])


@dataclass(frozen=True)
class Choice:
    targets: dict[str, Release]  # service -> the release it goes back to
    notes: list[str]  # services left as they are, and why
    refusal: str | None = None  # nothing can be rolled back: why


def failed(history: History, deploy: int) -> History:
    """A deploy failed after removing this service's container: its current release
    no longer runs, but it is the last one that served."""
    return replace(history, broken=deploy) if history.current is not None else history


def choose(histories: dict[str, History], declared: list[str], names: list[str] | None,
           keep: int) -> Choice:
    """What `rollback` undoes: the named services, or every service the latest deploy
    (still running) changed, each to its release before."""
    if names:
        targets = {}
        for name in names:
            history = histories.get(name, History(name))
            target, why = history.target(), _why_not(history, keep)
            if target is None or target.secrets_missing:
                return Choice({}, [], why)
            targets[name] = target
        return Choice(targets, [])
    running = {n: h.running() for n, h in histories.items() if n in declared}
    live = {n: r for n, r in running.items() if r is not None}
    if not live:
        return Choice({}, [], "no release recorded on this host yet: each deploy records "
                              "one per service it changes")
    # The latest deploy: what it made current, and what it took down when it failed.
    when = {n: (histories[n].broken or r.deploy) for n, r in live.items()}
    latest = max(when.values())
    last = sorted(n for n, deploy in when.items() if deploy == latest)
    targets = {n: t for n in last if (t := histories[n].target()) and not t.secrets_missing}
    oldest = [n for n in last if histories[n].target() is None]
    notes = [_why_not(histories[n], keep) for n in last
             if n not in targets and n not in oldest]
    if oldest:
        notes.insert(0, f"{', '.join(oldest)}: running the oldest release kept "
                        f"(keep_images={keep})")
    if not targets:
        return Choice({}, [], "nothing to roll back to: " + "; ".join(notes))
    return Choice(targets, notes)


def _why_not(history: History, keep: int) -> str:
    running, target = history.running(), history.target()
    if running is None:
        return (f"{history.service}: no release recorded on this host (each deploy "
                f"records one per service it changes)")
    if target is not None and target.secrets_missing:
        return (f"{history.service}: release {target.number} needs the values of "
                f"{', '.join(target.secrets_missing)}, which are no longer kept")
    if target is None:
        return (f"{history.service}: release {running.number}, running, is the oldest kept "
                f"(keep_images={keep}); nothing before it to roll back to")
    return f"{history.service}: can go back to release {target.number}"


def rollback_plan(stack: Stack, observed: Observed, targets: dict[str, Release],
                  broken: dict[str, bool] | None = None) -> p.Plan:
    """Each service back to its release, in startup order, by the path a deploy takes:
    start-first beside the running container, else stop-first."""
    actions, broken = [], broken or {}
    for wave, names in enumerate(start_waves(stack)):
        for name in (n for n in names if n in targets):
            release = targets[name]
            current = observed.container(release.spec.name)
            reason = (f"rollback to release {release.number} ({release.when}): "
                      + ", ".join(_differences(release, current) or ["same as running"]))
            if broken.get(name):
                reason += "; the last release that served, before a deploy that failed"
            # From the kept image, by id; its drift label keeps the declared image's name
            # (a later plan compares image ids), so a rollback to what stack.py declares
            # leaves the next deploy nothing to do.
            spec = replace(release.spec, image=release.image)
            if current is None:
                actions.append(p.Action(p.CREATE, spec.name, reason, container=spec,
                                        wave=wave))
            elif spec.standby and current.state == "running":
                slot = replacement_slot(release.spec, current)
                actions.append(p.Action(p.RECREATE, spec.name, reason + " (start-first)",
                                        container=replace(slot, image=release.image),
                                        wave=wave, start_first=True))
            else:
                actions.append(p.Action(p.RECREATE, spec.name, reason, container=spec,
                                        wave=wave))
    actions = [replace(a, after=started_first(stack, a.container.service))
               if a.container else a for a in actions]
    return p.Plan(stack.project, actions, proxies=proxy_upstreams(stack))


def _differences(release: Release, current: ObservedContainer | None) -> list[str]:
    """What differs from the running container, by field name (never values)."""
    if current is None:
        return ["not running"]
    try:
        old = json.loads(current.labels.get(LABEL_SPEC_HASH, "{}"))
    except json.JSONDecodeError:
        old = {}
    new = release.spec.fingerprint()
    found = [k for k in new if k != "networks" and isinstance(old, dict)
             and old.get(k) != new[k]]
    if current.image != release.image_id:
        found.append("image id")
    return found
