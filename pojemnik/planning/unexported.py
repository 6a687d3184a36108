"""What an exported Compose file says about itself: which Compose reads it, and what of
the declaration it cannot carry (so nobody leaves pojemnik believing it is all there)."""

from __future__ import annotations

import shlex

from ..declaration.model import Stack
from ..declaration.policy import StartFirst, StopFirst

# The top-level `name:` and the ports' `host_ip` are Compose v2 (the Compose
# Specification); Compose v1 (`docker-compose` 1.x, Debian's package) rejects them.
COMPOSE_VERSION = "Compose v2 (`docker compose`, or docker-compose 2.x); not Compose v1"


def left_out(stack: Stack) -> list[str]:
    """One line per thing pojemnik does for this stack that Compose has no field for."""
    notes: list[str] = []
    reloads = [s for s in stack.services if s.reload is not None]
    for service in reloads:
        assert service.reload is not None
        command = shlex.join(service.reload.command)
        notes.append(f"{service.name}: the checked reload after an edit (Compose watches "
                     f"no files): `docker compose exec {service.name} {command}`")
    start_first = [s.name for s in stack.services if isinstance(s.update, StartFirst)]
    if start_first:
        notes.append(f"{', '.join(start_first)}: start-first updates on standby addresses: "
                     "Compose stops the old container before it starts the new one")
    before = [s.name for s in stack.services
              if isinstance(s.update, StopFirst) and s.update.before]
    if before:
        notes.append(f"{', '.join(before)}: the step run before an update (update="
                     "StopFirst(before=...)): Compose recreates without it")
    healed = [s.name for s in stack.services if s.heal_after is not None]
    if healed:
        notes.append(f"{', '.join(healed)}: restarted after failed health checks "
                     "(heal_after, by `healing.install`): Compose only marks them unhealthy")
    if any(s.upstreams is not None for s in stack.services):
        notes.append("the proxy's upstream files: written now, with each service's main "
                     "address; nothing switches them later")
    notes.append(f"releases for `rollback` (keep_images={stack.keep_images}) and image "
                 f"rebuilds without cache (refresh_after_days={stack.refresh_after_days})")
    if stack.target == "swarm":
        notes.append("the Swarm target (replicas, placement, overlay networks): this file "
                     "runs one container per service on one host")
    if stack.firewall is not None:
        notes.append("the server's firewall (`firewall.apply`): not a Compose matter, "
                     "it stays as last applied")
    return notes


def header(stack: Stack) -> str:
    """The comment at the top of the file."""
    lines = [f"Compose file exported by pojemnik from {stack.source} (project "
             f"{stack.project}).",
             f"For {COMPOSE_VERSION}: it uses the top-level `name:` and the ports' "
             "`host_ip`.",
             "Same network and volume names: `invoke down` then `docker compose up -d` "
             "keeps the data.",
             "Not exported (Compose has no field for it):"]
    lines += [f"  - {note}" for note in left_out(stack)]
    return "".join(f"# {line}\n" for line in lines)
