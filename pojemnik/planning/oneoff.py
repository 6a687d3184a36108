"""A one-off container of a service: its image, networks, environment, secrets and
mounts, and nothing that belongs to the live container (published ports, fixed
addresses, the service's DNS name, a restart policy, a healing label).

What `invoke run` (and a release command) hands to the engine. Pure; call only on a
validated stack.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from ..declaration.model import LABEL_HEAL_AFTER, LABEL_KIND, Stack
from .spec import Attachment, ContainerSpec, container_spec

ONEOFF_KIND = "oneoff"  # the engine's observe leaves these out of the plan


def oneoff_name(stack: Stack, service: str, token: str | None = None) -> str:
    """`<project>-<service>-run-<random>`: never the live container's name, and two
    one-offs at once do not collide."""
    return f"{stack.container_name(service)}-run-{token or secrets.token_hex(3)}"


def oneoff_spec(stack: Stack, service: str, command: str, image: str | None = None,
                token: str | None = None) -> ContainerSpec:
    """The service's container spec for running `command` (through `sh -c`) once.

    `image`: the live container's image id, so `run` uses what serves now even after a
    build has moved the tag; None: the service's tag."""
    spec = container_spec(stack, stack.service(service))
    return oneoff_of(spec, command, oneoff_name(stack, service, token), image)


def release_spec(spec: ContainerSpec, token: str | None = None) -> ContainerSpec:
    """The one-off that runs the service's release command, from the new version's spec
    (its new image and configuration)."""
    assert spec.release is not None, spec.name
    return oneoff_of(spec, spec.release, f"{spec.name}-release-{token or secrets.token_hex(3)}")


def oneoff_of(spec: ContainerSpec, command: str, name: str,
              image: str | None = None) -> ContainerSpec:
    """A live container's spec made a one-off's. No DNS alias: the proxy and the other
    services must never send a request to a one-off."""
    labels = {k: v for k, v in spec.labels.items() if k != LABEL_HEAL_AFTER}
    labels[LABEL_KIND] = ONEOFF_KIND
    return replace(
        spec,
        name=name,
        image=image or spec.image,
        command=["sh", "-c", command],
        ports=[],
        networks=[Attachment(a.network, None, []) for a in spec.networks],
        standby=[],
        restart="no",
        healthcheck=None,
        heal_after=None,
        labels=labels,
        release=None,
    )


def exec_command(command: str) -> list[str]:
    """What `invoke exec` runs in the live container: the same shell as `run`."""
    return ["sh", "-c", command]
