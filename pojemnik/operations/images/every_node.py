"""`images.push --swarm`: images built here pushed to every node of a Docker Swarm, with no
registry. The task's host is a manager; the manager's engine lists the nodes, every other
node is reached THROUGH the manager (as ProxyJump: same user and key, its host key checked
against known_hosts under the address the manager reports for it), and each node's engine
gets the images by the `images.push` path (streamed, identical image ids skipped).

Every node is connected to before anything is sent: a node that cannot be reached stops
the whole push, naming it. Loading an image changes nothing that runs; services are then
pinned by the image ids returned here, so no node can run another image under the tag.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ...console import HOST_PREFIX, Say
from ...engine.backend import Engine, SwarmNode
from ...errors import OperationError, PojemnikError
from .push import built_here, push_images

if TYPE_CHECKING:
    from fabric import Connection

ConnectNode = Callable[[SwarmNode], Engine]
MAX_PARALLEL = 4  # nodes loading at once (each stream is one SSH channel on the manager)


def push_to_nodes(local: Engine, manager: Engine, connect: ConnectNode, tags: list[str],
                  say: Say) -> dict[str, str]:
    """Push `tags` from `local` to every node of the Swarm `manager` manages; returns
    tag -> image id, the same on every node. `connect` opens another node's engine."""
    ids = built_here(local, tags)
    nodes = manager.nodes()
    refuse_unready(nodes)
    engines: dict[str, Engine] = {n.hostname: manager for n in nodes if n.current}
    try:
        for node in nodes:
            if not node.current:
                engines[node.hostname] = reach(node, connect, manager.where)
        say(f"Swarm nodes: {', '.join(engines)}; images: {', '.join(tags)}")
        failures = push_everywhere(local, engines, tags, say)
    finally:
        for engine in engines.values():
            if engine is not manager:
                engine.close()
    if failures:
        raise OperationError(
            "pushing images failed on " + "; ".join(f"{n}: {e}" for n, e in failures.items())
            + ". Nothing running changed; run it again (images already there are skipped).")
    for tag, image_id in ids.items():
        say(f"image {tag}: {image_id[:19]} on all {len(engines)} nodes")
    return ids


def refuse_unready(nodes: list[SwarmNode]) -> None:
    """A node that is not Ready could not receive the images, and would lack them when it
    comes back: say which, and what to do, before anything is sent."""
    if not any(n.current for n in nodes):
        raise OperationError("the manager is not among the Swarm's nodes")  # engine bug
    for node in nodes:
        if node.state != "ready":
            raise OperationError(
                f"Swarm node {node.hostname} ({node.address}) is {node.state or 'unknown'} "
                "(`docker node ls`): start it, or remove it from the Swarm (`docker node rm "
                f"{node.hostname}`); nothing was sent to any node")


def reach(node: SwarmNode, connect: ConnectNode, manager: str) -> Engine:
    try:
        return connect(node)
    except PojemnikError as error:
        raise OperationError(
            f"cannot reach Swarm node {node.hostname} ({node.role}, {node.address}) "
            f"through the manager {manager}: {error}. Check that sshd runs on "
            f"{node.address}:22 and the manager can reach it, that your key logs in there as "
            "on the manager, that the node's host key is in known_hosts under "
            f"{node.address}, and that the user may use Docker there. Nothing was sent to "
            "any node.") from error


def push_everywhere(local: Engine, engines: dict[str, Engine], tags: list[str],
                    say: Say) -> dict[str, str]:
    """Push to every node in parallel, each node's lines prefixed with its name (plain
    lines: progress bars of several threads cannot share one terminal); returns
    node -> error for the nodes that failed (the others carry on)."""
    outer = HOST_PREFIX.get()

    def one(name: str, engine: Engine) -> None:
        HOST_PREFIX.set(f"{outer}[{name}] ")
        push_images(local, engine, tags, say)

    failures: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(engines))) as pool:
        futures = {name: pool.submit(contextvars.copy_context().run, one, name, engine)
                   for name, engine in engines.items()}
        for name, future in futures.items():
            try:
                future.result()
            except PojemnikError as error:
                failures[name] = str(error)
    return failures


def connect_through(manager: Connection, say: Say) -> ConnectNode:
    """How the task reaches another node: SSH through the manager's connection to the
    address the manager reports (port 22), then that node's engine."""
    from ...engine.over_ssh import connect_over_ssh
    from ...ssh.connection import through

    def connect(node: SwarmNode) -> Engine:
        connection = through(manager, node.address)
        try:
            return connect_over_ssh(connection, say, owned=True)
        except BaseException:
            connection.close()
            raise
    return connect
