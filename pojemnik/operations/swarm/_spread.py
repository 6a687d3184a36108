"""Keeping a replicated service's tasks spread over the nodes that may run it.

Swarm places a new task on the node with the fewest tasks of the service, ties going to
the least loaded node; a start-first update (the new task beside the old, then the old
stopped) can so leave every task on one node, which a drained or failed node then takes
down whole. After a service converged with its tasks crowding one node while another
that may run it has none, one more task is started (Swarm puts it on the emptiest node)
and the count set back: Swarm removes tasks from the node with the most copies first.
No request is lost: the extra task serves before anything stops, and a stopping task
leaves Docker's DNS 2 s before it is stopped.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

from ...console import Say
from ...declaration.model import LABEL_SPEC_HASH
from ...engine.swarm.backend import SwarmBackend
from ...planning.swarm.checks import matches
from ...planning.swarm.spec import ServiceSpec
from ._wait import Waiter


def crowded(spec: ServiceSpec, swarm: SwarmBackend) -> tuple[str, str] | None:
    """(the most crowded node, an empty one) when the tasks are unevenly spread."""
    if spec.tasks is None or spec.tasks < 2:
        return None
    eligible = [n.hostname for n in swarm.nodes()
                if n.usable and all(matches(c, n) for c in spec.constraints)]
    if len(eligible) < 2:
        return None
    counts = Counter(t.node for t in swarm.progress(spec.name).current()
                     if t.state == "running")
    busiest = max(eligible, key=lambda n: counts.get(n, 0))
    emptiest = min(eligible, key=lambda n: counts.get(n, 0))
    if counts.get(busiest, 0) - counts.get(emptiest, 0) < 2:
        return None
    return busiest, emptiest


def spread(spec: ServiceSpec, swarm: SwarmBackend, waiter: Waiter, say: Say,
           timeout: float) -> None:
    found = crowded(spec, swarm)
    if found is None:
        return
    busiest, emptiest = found
    say(f"service {spec.name}: its tasks crowd {busiest} while {emptiest} has none: one more "
        f"task, then back to {spec.replicas} (Swarm removes one from {busiest})")
    started = swarm.progress(spec.name).update_started
    extra = replace(spec, replicas=spec.replicas + 1)
    # Its own spec hash: a deploy killed now leaves a drift the next plan sees and undoes.
    extra = replace(extra, labels={**spec.labels, LABEL_SPEC_HASH: json.dumps(
        extra.fingerprint(), sort_keys=True)})
    swarm.update_service(extra)
    waiter.converged(extra, timeout, started)
    swarm.update_service(spec)
    status = waiter.converged(spec, timeout, started)
    say(f"service {spec.name}: spread, {status}")
