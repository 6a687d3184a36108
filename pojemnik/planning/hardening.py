"""The hardening every container gets: one policy, read by the engine, the bash
rendering and the compose export alike (through `ContainerSpec`)."""

from __future__ import annotations

from ..declaration.model import Limits
from ..declaration.units import memory_bytes

# No capability unless the declaration adds it (`cap_add`): most servers need none.
CAP_DROP = ("ALL",)
# setuid binaries inside cannot raise privileges.
SECURITY_OPT = ("no-new-privileges:true",)


def memory_swap(limits: Limits) -> int:
    """Memory plus swap, in bytes: equal to the memory limit, so a container never swaps
    the small server into the ground."""
    return memory_bytes(limits.memory)
