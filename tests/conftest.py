"""How the suite runs in parallel (`./quickstart test` runs pytest-xdist with 3 workers):
tests that share engine state run on one worker, in order; the rest spread.

- tests/remote: one group (the session's sshd hosts, started once);
- tests/swarm: one group (the session's two-node Swarm);
- the integration modules that use the session's deployed example (`deployed`,
  `example_copy`): one group, in file order as before;
- every other module: its own group (its module-scoped copy is its own).

Every test makes its own project names, free ports and free subnets, so groups on
different workers never meet on the engine. The groups are given to xdist as the scopes of
a `--dist loadscope` scheduler (its `xdist_group` mark does not take on pytest 9, which no
longer lets a plugin rename a test's node id).
"""

from __future__ import annotations

from typing import Any

# The integration modules that share the session's deployed example.
SHARED_EXAMPLE = {"test_app_image", "test_app_version", "test_deploy", "test_healing",
                  "test_jobs", "test_least_privilege", "test_living", "test_oneoff"}


def group_of(nodeid: str) -> str:
    """`tests/<suite>/<module>.py::<test>` -> the group it runs in."""
    parts = nodeid.split("::")[0].split("/")
    if len(parts) < 3 or parts[0] != "tests":
        return nodeid.split("::")[0]
    suite, module = parts[1], parts[-1].removesuffix(".py")
    if suite in ("remote", "swarm"):
        return suite
    if suite == "integration" and module in SHARED_EXAMPLE:
        return "example"
    return f"{suite}-{module}"


def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
    """xdist's scope scheduler, with `group_of` as the scope: a group runs on one worker."""
    from xdist.scheduler import LoadScopeScheduling

    class Grouped(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return Grouped(config, log)
