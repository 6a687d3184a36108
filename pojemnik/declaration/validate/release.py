"""Checks of a service's release command (`Service(release=..., release_timeout=...)`)."""

from __future__ import annotations

from collections.abc import Callable

from ..model import Service, Stack
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
    if stack.target == SWARM:
        add(f"{field}.release", "the Swarm target does not run release commands yet (a "
            "one-off task on the service's networks is not made)",
            "drop release for the Swarm target and run the command before the deploy, "
            "e.g. `docker exec` in a running task of the service")
