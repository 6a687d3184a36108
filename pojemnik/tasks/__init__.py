"""The thin front: invoke tasks mirroring the article's docker commands. A repository's
`tasks.py` sets `ns = namespace(Path(__file__).parent)` and gets them all, each runnable
alone and all together as `deploy`; `fab -H host TASK` runs the same on a host.

Tasks parse options, call one operation, print. Docker is imported only when a task
runs, so `invoke --list` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invoke import Collection

from . import (
    agent,
    alerts,
    backup,
    diagram,
    environments,
    firewall,
    healing,
    images,
    jobs,
    lock,
    oneoff,
    releases,
    remote,
    resources,
    stack,
    status,
    tls,
    upkeep,
)


def _collection(name: str, default: str, tasks: dict[str, Any]) -> Collection:
    collection = Collection(name)
    for task_name, body in tasks.items():
        collection.add_task(body, task_name, default=task_name == default)
    return collection


def namespace(root: str | Path, stack_file: str = "stack.py") -> Collection:
    """The task collection for the repository at `root`."""
    ns = Collection(stack.deploy, stack.plan, stack.check, stack.ps, stack.logs, stack.down,
                    diagram.diagram, releases.history, releases.rollback, lock.lock,
                    status.status, oneoff.run, oneoff.exec_, upkeep.prune)
    for collection in (
        _collection("images", "build", {"build": images.build, "list": images.list_,
                                        "base": images.base, "push": images.push}),
        _collection("networks", "create", {"create": resources.networks_create}),
        _collection("containers", "run", {"run": resources.containers_run}),
        _collection("export", "compose", {"compose": resources.export_compose}),
        _collection("server", "bootstrap", {"bootstrap": remote.server_bootstrap}),
        _collection("data", "copy", {"copy": remote.data_copy,
                                     "refresh": environments.refresh}),
        _collection("healing", "log", {"install": healing.install, "log": healing.log}),
        _collection("env", "diff", {"diff": environments.diff}),
        _collection("alerts", "test", {"test": alerts.test}),
        firewall.collection(),
        tls.collection(),
        backup.collection(),
        agent.collection(),
        jobs.collection(),
    ):
        ns.add_collection(collection)
    ns.configure({"pojemnik": {"root": str(Path(root).resolve()), "stack": stack_file,
                               "docker_host": None, "diagram_output": None}})
    return ns
