"""The Swarm target: the same declaration run as Docker Swarm services on a cluster.

`Stack(target="swarm")` (the example reads it from POJEMNIK_TARGET) deploys through a
manager: networks become overlay networks with the declared subnets, services become
Swarm services, mounted config files Swarm configs and secrets Swarm secrets. What a
single host has and a Swarm lacks is translated or refused by validation
(`validate.swarm`); the per-service fields `replicas`, `mode` and `placement` are read by
this target only (a single host runs one container per service).

Defaults suit a kernel without IPVS (no routing mesh, no virtual IPs): services are
found by DNS round robin (`dnsrr`), ports are published on the nodes running a task
(`host`). Declare `vip` / `ingress` where every node's kernel has IPVS.
"""

from __future__ import annotations

from dataclasses import dataclass

HOST = "host"  # Stack.target: one Docker engine (local or over SSH)
SWARM = "swarm"  # Stack.target: a Docker Swarm, deployed through a manager
TARGETS = (HOST, SWARM)

DNSRR = "dnsrr"  # the service name resolves to its tasks' addresses
VIP = "vip"  # one virtual address, balanced by IPVS in the kernel
ENDPOINT_MODES = (DNSRR, VIP)

PUBLISH_HOST = "host"  # a port opens on each node that runs a task of the service
PUBLISH_INGRESS = "ingress"  # the routing mesh: every node answers (needs IPVS)
PUBLISH_MODES = (PUBLISH_HOST, PUBLISH_INGRESS)

REPLICATED = "replicated"  # `replicas` tasks, spread over the nodes the placement allows
GLOBAL = "global"  # one task on every node the placement allows (a proxy on edge nodes)
SERVICE_MODES = (REPLICATED, GLOBAL)


@dataclass(frozen=True)
class Swarm:
    """How the Swarm target runs every service (read only when `Stack.target == "swarm"`).

    `monitor`: seconds each updated task is watched; a task failing in that time (its
    health check included) rolls the service back to the previous version by itself.
    `converge_timeout`: the longest a deploy waits for one service's tasks (per task).
    """

    endpoint_mode: str = DNSRR
    publish_mode: str = PUBLISH_HOST
    monitor: float = 5.0
    converge_timeout: float = 180.0
