"""`images.*`: build, list, push, and the base image."""

from __future__ import annotations

import json
import time

from invoke import Context, task

from ..console import say
from .context import engine_of, guard, names, print_table, remote_only, require_declared, stack_of
from .lock import holding_lock
from .stack import converge_task


@task(help={"name": "image to build (default: all), comma-separated for several",
            "refresh": "ignore the layer cache so apt-get update/upgrade really run again",
            "verbose": "show the builders' whole output (always in .pojemnik/logs/)"})
def build(c: Context, name: str = "", refresh: bool = False, verbose: bool = False) -> None:
    """Build images from images/<name>/ (`docker image build`) whose context changed."""
    from ..planning.plan import Options

    stack = stack_of(c)
    wanted = names(name) or frozenset(i.name for i in stack.images)
    require_declared("image", wanted, [i.name for i in stack.images])
    converge_task(c, Options(only_services=frozenset(), only_images=wanted, refresh=refresh,
                             now=time.time()), verbose=verbose)


@task(help={"json": "machine-readable output"})
def list_(c: Context, json_: bool = False) -> None:
    """List the stack's images and the base image (`docker image list`)."""
    stack = stack_of(c)
    tags = {stack.image_tag(i.name) for i in stack.images} | {stack.base_image}
    with engine_of(c) as engine:
        images = guard(lambda: engine.list_images(tags))
    rows = [{"tags": image.tags, "id": image.id[7:19], "size_mb": round(image.size / 2**20),
             "created": image.created} for image in images]
    if json_:
        print(json.dumps(rows, indent=2))
        return
    print_table(["TAG", "ID", "SIZE"], [[", ".join(r["tags"]), str(r["id"]),  # type: ignore[arg-type]
                                         f"{r['size_mb']} MB"] for r in rows])


@task(help={"name": "image to push (default: all, and the base image)",
            "swarm": "the host is a Swarm manager: push to every node of its Swarm, the "
                     "others reached through it (same user and key; their host keys in "
                     "known_hosts under the address `docker node inspect` gives)"})
def push(c: Context, name: str = "", swarm: bool = False) -> None:
    """Ship images built here to the host (fab -H), or to every Swarm node: no builds on
    a small server, no registry."""
    from ..engine.local import connect_local
    from ..operations.images.every_node import connect_through, push_to_nodes
    from ..operations.images.push import lock_image_on, push_images

    remote_only(c, "fab -H user@server images.push (build them first with invoke "
                "images.build)")
    stack = stack_of(c)
    wanted = names(name) or frozenset(i.name for i in stack.images)
    require_declared("image", wanted, [i.name for i in stack.images])
    tags = [stack.image_tag(n) for n in sorted(wanted)]
    if not name:
        tags.insert(0, stack.base_image)
    local = guard(lambda: connect_local(c.config.pojemnik.get("docker_host")))
    try:
        with engine_of(c) as remote:
            image = guard(lambda: lock_image_on(local, remote, stack, say))
            # --swarm: the Swarm's lock; else the stack's target decides.
            with holding_lock(c, remote, stack, image=image, cluster=True if swarm else None):
                if swarm:
                    guard(lambda: push_to_nodes(local, remote, connect_through(c, say), tags,
                                                say))
                else:
                    guard(lambda: push_images(local, remote, tags, say))
    finally:
        local.close()


@task
def base(c: Context) -> None:
    """Make BASE_IMAGE if missing: pull it, or build it from Debian packages."""
    from ..operations.images.base import ensure_base

    stack = stack_of(c)
    with engine_of(c) as engine:
        guard(lambda: ensure_base(engine, stack.base_image, say))
    say(f"base image {stack.base_image}: present")
