"""The Docker engine on this machine."""

from __future__ import annotations

import docker

from ..errors import DockerError
from .docker_engine import DockerEngine


def connect_local(base_url: str | None = None) -> DockerEngine:
    """The engine on this machine (DOCKER_HOST and friends, as the docker CLI reads them)."""
    try:
        client = (docker.DockerClient(base_url=base_url) if base_url
                  else docker.from_env())
        client.ping()
    except docker.errors.DockerException as error:
        raise DockerError(
            f"cannot reach the Docker engine ({error}); is it running, and may this "
            "user use it (group `docker`)?") from error
    return DockerEngine(client)
