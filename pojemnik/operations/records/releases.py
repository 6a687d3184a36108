"""The releases a deploy keeps for `invoke rollback`, on the host where it ran.

Per service, `.pojemnik/<project>/releases/<service>.json` (mode 0600) records the
container spec of each kept release and the id of the image its container ran (not
what the tag names then); the image is kept on the engine under
`<project>/releases:<service>-<n>`. Values of environment variables whose names
look secret are kept apart, in `.secrets/<project>/release-env-<service>.json`. After a
deploy, releases beyond `keep_images` lose their tag, and with it their image unless a
container still uses it (Docker refuses, and it stays).
"""

from __future__ import annotations

import time

from ...console import Say
from ...declaration.model import LABEL_SPEC_HASH, Stack
from ...engine.backend import Engine
from ...errors import OperationError, PojemnikError
from ...hostfiles.files import HostFiles
from ...planning import plan as p
from ...planning.release_codec import decode, encode
from ...planning.releases import REPOSITORY, History, deployed, failed, new_release
from . import history as audit

PRIVATE = 0o600


def record_dir(stack: Stack) -> str:
    return stack.host_path(f".pojemnik/{stack.project}/releases")


def secrets_dir(stack: Stack) -> str:
    return stack.host_path(stack.secrets_dir())


def _secrets_file(service: str) -> str:
    return f"release-env-{service}.json"


def load(stack: Stack, files: HostFiles, service: str) -> History:
    text = files.read(record_dir(stack), f"{service}.json")
    if text is None:
        return History(service)
    try:
        return decode(text, files.read(secrets_dir(stack), _secrets_file(service)))
    except (ValueError, KeyError, TypeError) as error:
        raise OperationError(f"{record_dir(stack)}/{service}.json cannot be read ({error!r}); "
                             "move it away to start this service's releases afresh") from error


def load_all(stack: Stack, files: HostFiles) -> dict[str, History]:
    return {s.name: load(stack, files, s.name) for s in stack.services}


def save(stack: Stack, files: HostFiles, history: History) -> None:
    record, hidden = encode(history)
    name = _secrets_file(history.service)
    if hidden is not None or files.read(secrets_dir(stack), name) is not None:
        files.write(secrets_dir(stack), name, hidden or "{}", mode=PRIVATE)
    files.write(record_dir(stack), f"{history.service}.json", record, mode=PRIVATE)


def remember(stack: Stack, engine: Engine, files: HostFiles, actions: list[p.Action],
             say: Say, failed: p.Plan | None = None) -> None:
    """After a deploy: each container it made is its service's newest release; after one
    that `failed`, the services whose container it removed are marked, so a rollback
    puts back the release that served. A failure here is reported, never fails the
    deploy (which did happen)."""
    try:
        deploy = time.time_ns()
        _remember(stack, engine, files, actions, say, deploy)
        if failed is not None:
            _mark_taken_down(stack, engine, files, failed, actions, say, deploy)
    except PojemnikError as error:
        say(f"releases: not recorded ({error}); a rollback cannot go back past this deploy")


def _mark_taken_down(stack: Stack, engine: Engine, files: HostFiles, plan: p.Plan,
                     done: list[p.Action], say: Say, deploy: int) -> None:
    """A container the failed deploy replaced but whose replacement never got ready: its
    old one is gone (stop-first) when the engine has none, or only the new one."""
    ready = {a.target for a in done}
    tried = [a for a in plan.of_kind(p.CREATE, p.RECREATE)
             if a.container and a.target not in ready and not a.start_first]
    if not tried:
        return
    found = {c.name: c for c in engine.observe(stack.project, []).containers}
    for action in tried:
        assert action.container is not None
        current = found.get(action.target)
        planned = action.container.labels.get(LABEL_SPEC_HASH)
        if current is not None and current.labels.get(LABEL_SPEC_HASH) != planned:
            continue  # never reached: the old container still runs
        before = load(stack, files, action.container.service)
        after = failed(before, deploy)
        if after != before:
            save(stack, files, after)
            say(f"release {before.service} {before.current}: no longer running after "
                "this failed deploy; `rollback` puts it back")


def _remember(stack: Stack, engine: Engine, files: HostFiles, actions: list[p.Action],
              say: Say, deploy: int) -> None:
    made = [a.container for a in actions if a.kind in (p.CREATE, p.RECREATE) and a.container]
    if not made:
        return
    when, who = audit.now(), audit.who()
    tags = engine.image_ids()
    # The image each container runs, not the one its tag names now: a tag moves (a push,
    # a build) without touching the containers made from it.
    running = {c.name: c.image for c in engine.observe(stack.project, []).containers}
    for spec in made:
        image_id = running.get(spec.name)
        if not image_id:
            continue
        before = load(stack, files, spec.service)
        release = new_release(before, spec, image_id, deploy, when, who, stack.project)
        after, fresh, _ = deployed(before, release, stack.keep_images)
        if after == before:
            continue
        if fresh is not None:
            engine.tag_image(image_id, fresh.tag)
        save(stack, files, after)
        say(f"release {spec.service} {after.current}: kept as "
            f"{next(r.tag for r in after.releases if r.number == after.current)}")
        prune(stack, engine, after, tags, say)


def prune(stack: Stack, engine: Engine, history: History, tags: dict[str, str],
          say: Say) -> None:
    """Untag the service's release images the record no longer keeps (also ones a killed
    deploy tagged but never recorded)."""
    prefix = f"{stack.project}/{REPOSITORY}:{history.service}-"
    kept = {r.tag for r in history.releases}
    for tag in sorted(t for t in tags if t.startswith(prefix) and t not in kept):
        if engine.remove_tag(tag):
            say(f"release image {tag}: removed (keep_images={stack.keep_images})")
        else:
            say(f"release image {tag}: kept, a container still uses it")
