"""Checks of a service's release command (`Service(release=..., release_timeout=...)`)."""

from __future__ import annotations

from collections.abc import Callable

from ..model import Service, Stack
from ..release import needs_maintenance
from ..swarm import SWARM

Add = Callable[[str, str, str], None]  # field, message, fix


def check_release(stack: Stack, service: Service, add: Add) -> None:
    field = f"services.{service.name}"
    if service.release is None:
        return
    if not isinstance(service.release, str) or not service.release.strip():
        add(f"{field}.release", f"release={service.release!r} is not a command",
            "give the command as one string, e.g. release=\"python manage.py migrate "
            "--noinput\", or drop release")
    if not service.release_timeout > 0:
        add(f"{field}.release_timeout",
            f"release_timeout={service.release_timeout} is not a number of seconds",
            "give the seconds the command may take (600 is the default)")
    if needs_maintenance(service.release) and not any(s.upstreams for s in stack.services):
        add(f"{field}.release", "the release command asks for maintenance mode, but no "
            "service declares Upstreams (the proxy that answers with the page)",
            "declare upstreams=Upstreams(...) on the proxy, or drop maintenance=True")
    if stack.target == SWARM:
        add(f"{field}.release", "the Swarm target does not run release commands yet: "
            "pojemnik makes no one-off task from the new image before the update, and "
            "without one the new version would start before its command ran",
            "declare the command for the host target only (the example: `release=None "
            "if swarm else ...`) and run it on the manager before the deploy, e.g. "
            f"`docker service create --mode replicated-job --restart-condition none "
            f"--name {stack.project}-{service.name}-release "
            + " ".join(f"--network {stack.network_name(n)}" for n in service.networks)
            + f" {stack.image_ref(service)} sh -c '...'`, then `docker service logs` "
            "it and `docker service rm` it; see docs/guides/swarm.md")
