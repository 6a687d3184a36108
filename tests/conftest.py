"""How the suite runs in parallel (`./quickstart test` runs pytest-xdist, `--dist
loadgroup`): tests that share engine state run on one worker, in order; the rest spread.

- tests/remote: one group (the session's sshd hosts, started once);
- tests/swarm: one group (the session's two-node Swarm);
- the integration modules that use the session's deployed example (`deployed`,
  `example_copy`): one group, in file order as before;
- every other module: its own group (its module-scoped copy is its own).

Every test makes its own project names, free ports and free subnets, so groups on
different workers never meet on the engine."""

from __future__ import annotations

import pytest

# The integration modules that share the session's deployed example.
SHARED_EXAMPLE = {"test_app_image", "test_app_version", "test_deploy", "test_healing",
                  "test_least_privilege", "test_living", "test_oneoff"}


def group_of(item: pytest.Item) -> str:
    parts = item.nodeid.split("::")[0].split("/")
    suite, module = parts[1], parts[-1].removesuffix(".py")
    if suite in ("remote", "swarm"):
        return suite
    if suite == "integration" and module in SHARED_EXAMPLE:
        return "example"
    return f"{suite}-{module}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith("tests/"):
            item.add_marker(pytest.mark.xdist_group(group_of(item)))
