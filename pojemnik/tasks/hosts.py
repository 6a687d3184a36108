"""`fab -H a,b TASK`: run a task on several hosts at once, with a result per host.

Fabric's own executor runs the per-host calls one after another. This one runs the
calls of one task on all hosts in parallel threads (as Fabric's ThreadingGroup does),
prefixes each line with its host, prints a result per host, and exits non-zero if any
host failed. Enabled by `tasks.executor_class` in fabric.yaml.

Without -H, the hosts are the environment's `POJEMNIK_HOSTS` setting when it has one
(`.env.staging`: `POJEMNIK_HOSTS=deploy@staging.example.org`), so an environment that
lives on its own server is deployed there by `POJEMNIK_ENV=staging fab deploy`; -H wins.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fabric.executor import Executor
from invoke import Exit

from ..console import HOST_PREFIX, say

MAX_PARALLEL = 8


class ParallelHostsExecutor(Executor):
    def execute(self, *tasks: Any) -> dict[Any, Any]:
        self._hosts_from_settings()
        calls = self.normalize(tasks)
        calls = self.expand_calls(calls)
        try:
            dedupe = self.config.tasks.dedupe
        except AttributeError:
            dedupe = True
        calls = self.dedupe(calls) if dedupe else calls
        results: dict[Any, Any] = {}
        for group in _groups(calls):
            prepared = []
            for call in group:
                self.config.load_collection(self.collection.configuration(call.called_as))
                self.config.load_shell_env()
                prepared.append((call, call.make_context(self.config)))
            if len(prepared) == 1:
                call, context = prepared[0]
                results[call.task] = call.task(context, *call.args, **call.kwargs)
                continue
            failures = _run_parallel(prepared, results)
            if failures:
                raise Exit(f"{len(failures)} of {len(prepared)} hosts failed: "
                           + ", ".join(failures), code=1)
        return results

    def _hosts_from_settings(self) -> None:
        flag = self.core[0].args.hosts if self.core else None
        root = self.collection.configuration().get("pojemnik", {}).get("root")
        if flag is None or flag.value or not root:
            return
        if found := configured_hosts(Path(root), os.environ):
            flag.value, origin = found
            print(f"hosts {flag.value}: POJEMNIK_HOSTS from {origin} (-H overrides)",
                  file=sys.stderr)


def configured_hosts(root: Path, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The environment's POJEMNIK_HOSTS and where it is set, if it is. A bad environment
    gives none: the task then refuses it, as without hosts."""
    from ..declaration.environments import HOSTS
    from ..declaration.settings import Settings

    settings = Settings.load(root, environ)
    value = settings.values.get(HOSTS, "").replace(" ", "")
    if settings.environment_problems or not value:
        return None
    return value, settings.where(HOSTS)


def _groups(calls: list[Any]) -> list[list[Any]]:
    """Consecutive calls of the same task (one per host) form a group."""
    groups: list[list[Any]] = []
    for call in calls:
        if groups and groups[-1][0].task is call.task and getattr(call, "init_kwargs", None):
            groups[-1].append(call)
        else:
            groups.append([call])
    return groups


def _run_parallel(prepared: list[tuple[Any, Any]], results: dict[Any, Any]) -> list[str]:
    def one(call: Any, context: Any) -> Callable[[], Any]:
        def run() -> Any:
            HOST_PREFIX.set(f"[{_name(context)}] ")
            return call.task(context, *call.args, **call.kwargs)
        return run

    failures: list[str] = []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(prepared))) as pool:
        futures = [(call, context, pool.submit(one(call, context)))
                   for call, context in prepared]
        for call, context, future in futures:
            HOST_PREFIX.set(f"[{_name(context)}] ")
            try:
                results[call.task] = future.result()
                say("ok")
            except (Exception, SystemExit) as error:  # one host's failure must not hide others
                message = getattr(error, "message", None) or str(error)
                say(f"FAILED: {message}")
                failures.append(_name(context))
            finally:
                HOST_PREFIX.set("")
    return failures


def _name(context: Any) -> str:
    return f"{context.user}@{context.host}:{context.port}"
