"""The Docker engine on this machine."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from ..errors import DockerError

if TYPE_CHECKING:
    from .docker_engine import DockerEngine

SSH_TRANSPORT = "docker.transport.sshconn"


def connect_local(base_url: str | None = None) -> DockerEngine:
    """The engine on this machine (DOCKER_HOST and friends, as the docker CLI reads them)."""
    import_sdk(ssh=(base_url or os.environ.get("DOCKER_HOST", "")).startswith("ssh://"))
    import docker

    from .docker_engine import DockerEngine

    try:
        # Either asks the engine its API version first: an engine not reached says so here.
        client = (docker.DockerClient(base_url=base_url) if base_url
                  else docker.from_env())
    except docker.errors.DockerException as error:
        raise DockerError(
            f"cannot reach the Docker engine ({error}); is it running, and may this "
            "user use it (group `docker`)?") from error
    return DockerEngine(client)


def import_sdk(ssh: bool) -> None:
    """Import the Docker SDK, without its ssh:// transport unless the engine is reached
    that way: that transport imports paramiko, a quarter of a local deploy's start-up.
    (`fab -H` reaches a host through `over_ssh`, which imports paramiko itself.)"""
    if ssh or "docker" in sys.modules:
        return
    sys.modules[SSH_TRANSPORT] = None  # type: ignore[assignment]  # its import fails: skipped
    try:
        import docker  # noqa: F401
    finally:
        del sys.modules[SSH_TRANSPORT]
