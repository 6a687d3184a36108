"""The Swarm's nodes, read through a manager's engine (`docker node ls` / `node inspect`)."""

from __future__ import annotations

from typing import Any

import docker

from ..errors import DockerError
from .backend import SwarmNode, SwarmSettings


def swarm_nodes(api: docker.APIClient, where: str) -> list[SwarmNode]:
    swarm = api.info().get("Swarm") or {}
    if not swarm.get("ControlAvailable"):
        state = swarm.get("LocalNodeState") or "inactive"
        what = ("a worker node of a Swarm" if state == "active"
                else f"not part of a Swarm (Swarm: {state})")
        raise DockerError(f"the Docker engine ({where}) is {what}; connect to a Swarm "
                          "manager (`docker node ls` works there)")
    current = swarm.get("NodeID", "")
    return sorted((_node(row, current) for row in api.nodes()), key=lambda n: n.hostname)


def _node(row: dict[str, Any], current: str) -> SwarmNode:
    spec, status = row.get("Spec") or {}, row.get("Status") or {}
    return SwarmNode(
        id=row["ID"], hostname=(row.get("Description") or {}).get("Hostname", ""),
        address=_address(row), role=spec.get("Role", ""),
        availability=spec.get("Availability", ""), state=status.get("State", ""),
        labels=dict(spec.get("Labels") or {}), current=row["ID"] == current)


def _address(row: dict[str, Any]) -> str:
    """Status.Addr; a manager's may read 0.0.0.0 (engine bug), its ManagerStatus has it."""
    address = str((row.get("Status") or {}).get("Addr") or "")
    if address in ("", "0.0.0.0"):
        manager = str((row.get("ManagerStatus") or {}).get("Addr") or "")
        host = manager.rpartition(":")[0] if ":" in manager else manager
        address = host.strip("[]") or address
    return address


def swarm_settings(api: docker.APIClient) -> SwarmSettings:
    """From `docker info` (Swarm.Cluster is there on managers); Swarm's defaults else."""
    cluster = (api.info().get("Swarm") or {}).get("Cluster") or {}
    dispatcher = (cluster.get("Spec") or {}).get("Dispatcher") or {}
    period = dispatcher.get("HeartbeatPeriod")
    return SwarmSettings(heartbeat=period / 1e9 if period else SwarmSettings.heartbeat,
                         data_path_port=int(cluster.get("DataPathPort") or 4789))
