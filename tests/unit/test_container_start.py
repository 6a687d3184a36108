"""Starting a container when runc answers "cannot start an already running container"
(seen under load on runc 1.1.5: the engine then believes the container never started).
The engine's API is replaced by a recorder: what is tested is pojemnik's recovery."""

from __future__ import annotations

from typing import Any

import docker
import pytest

from pojemnik import Stack
from pojemnik.engine import containers
from pojemnik.planning.spec import container_spec

RUNC_REFUSAL = ("OCI runtime start failed: cannot start an already running container: "
                "unknown")


class Recorder(docker.APIClient):  # type: ignore[misc]
    """An APIClient whose calls to the engine are recorded; `start` refuses as runc did
    for the first `refusals` calls."""

    def __init__(self, refusals: int, running: bool = False) -> None:
        super().__init__(base_url="unix:///nonexistent.sock", version="1.41")
        self.refusals, self.running, self.calls = refusals, running, []
        self.made = 0

    def create_container(self, *args: Any, name: str, **kwargs: Any) -> dict[str, str]:
        self.made += 1
        self.calls.append(("create", name))
        return {"Id": f"id-{self.made}"}

    def connect_container_to_network(self, container: str, net_id: str, **_: Any) -> None:
        self.calls.append(("connect", container))

    def start(self, container: str) -> None:  # type: ignore[override]
        self.calls.append(("start", container))
        if self.refusals:
            self.refusals -= 1
            raise docker.errors.APIError(RUNC_REFUSAL)

    def remove_container(self, container: str, force: bool = False, **_: Any) -> None:
        self.calls.append(("remove", container, force))

    def inspect_container(self, container: str) -> dict[str, Any]:
        return {"State": {"Running": self.running}}


def test_a_new_container_refused_by_runc_is_made_again(stack: Stack) -> None:
    spec = container_spec(stack, stack.service("php"))
    api = Recorder(refusals=1)
    assert containers.create_container(api, spec) == "id-2"
    starts = [call for call in api.calls if call[0] in ("create", "start", "remove")]
    assert starts == [("create", spec.name), ("start", "id-1"), ("remove", spec.name, True),
                      ("create", spec.name), ("start", "id-2")]


def test_refused_twice_is_an_error_naming_the_container(stack: Stack) -> None:
    spec = container_spec(stack, stack.service("php"))
    with pytest.raises(docker.errors.APIError, match=f"{spec.name}: the runtime twice"):
        containers.create_container(Recorder(refusals=2), spec)


def test_other_start_errors_are_not_retried(stack: Stack) -> None:
    spec = container_spec(stack, stack.service("php"))

    class Broken(Recorder):
        def start(self, container: str) -> None:  # type: ignore[override]
            raise docker.errors.APIError("port is already allocated")

    api = Broken(refusals=0)
    with pytest.raises(docker.errors.APIError, match="port is already allocated"):
        containers.create_container(api, spec)
    assert [c for c in api.calls if c[0] == "create"] == [("create", spec.name)]


@pytest.mark.parametrize(("running", "accepted"), [(True, True), (False, False)])
def test_starting_an_existing_container_trusts_the_engine_state(running: bool,
                                                                accepted: bool) -> None:
    api = Recorder(refusals=1, running=running)
    if accepted:
        containers.start_container(api, "demo-php")
    else:
        with pytest.raises(docker.errors.APIError, match="already running"):
            containers.start_container(api, "demo-php")
