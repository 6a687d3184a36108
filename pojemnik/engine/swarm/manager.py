"""A Swarm manager through the Docker SDK: services, configs, secrets, overlay networks,
nodes and tasks (`backend.SwarmBackend`). It shares the manager's `DockerEngine`
client (and so its SSH relay); SDK errors leave as `DockerError`, as there."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import docker
from docker.types import IPAMConfig, IPAMPool

from ...errors import DockerError
from ...planning.spec import NetworkSpec
from ...planning.state import ObservedNetwork
from ...planning.swarm.spec import ServiceSpec
from ...planning.swarm.state import ObservedNode, ObservedService, SwarmState
from ..backend import Engine
from ..docker_engine import DockerEngine, _translated, project_filter
from . import specs as swarm_specs
from .backend import ServiceProgress, TaskRow


def swarm_of(engine: Engine) -> SwarmEngine:
    """The Swarm side of a manager's engine."""
    if not isinstance(engine, DockerEngine):
        raise TypeError(f"not a Docker engine: {engine!r}")
    return SwarmEngine(engine.client, engine.where)


class SwarmEngine:
    def __init__(self, client: docker.DockerClient, where: str) -> None:
        self.client = client
        self.api = client.api
        self.where = where

    @_translated
    def observe_swarm(self, project: str) -> SwarmState:
        swarm = self.api.info().get("Swarm") or {}
        node_id = str(swarm.get("NodeID") or "")
        networks = [_network(n) for n in self.api.networks()]
        if not swarm.get("ControlAvailable"):
            return SwarmState(node_id=node_id, manager=False, networks=networks)
        names = {n.id: n.name for n in networks}
        services = [_service(s, names) for s in self.api.services(
            filters=project_filter(project))]
        configs = [c["Spec"]["Name"] for c in self.api.configs(filters=project_filter(project))]
        secrets = [s["Spec"]["Name"] for s in self.api.secrets(filters=project_filter(project))]
        return SwarmState(node_id=node_id, manager=True, networks=networks,
                          nodes=[_node(n) for n in self.api.nodes()],
                          services=sorted(services, key=lambda s: s.name),
                          configs=sorted(configs), secrets=sorted(secrets))

    @_translated
    def create_overlay(self, spec: NetworkSpec) -> None:
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=spec.subnet, gateway=spec.gateway)])
        # Attachable: a one-off container (`docker run --network`) may join, e.g. a backup.
        self.api.create_network(spec.name, driver="overlay", ipam=ipam, internal=spec.internal,
                                labels=spec.labels, attachable=True, check_duplicate=True)

    @_translated
    def create_config(self, name: str, data: bytes, labels: dict[str, str]) -> None:
        self.api.create_config(name, data, labels=labels)

    @_translated
    def create_secret(self, name: str, data: bytes, labels: dict[str, str]) -> None:
        self.api.create_secret(name, data, labels=labels)

    @_translated
    def remove_config(self, name: str) -> bool:
        return self._remove(self.api.remove_config, self.api.configs, name)

    @_translated
    def remove_secret(self, name: str) -> bool:
        return self._remove(self.api.remove_secret, self.api.secrets, name)

    def _remove(self, remove: Any, listing: Any, name: str) -> bool:
        found = [c["ID"] for c in listing(filters={"name": name}) if c["Spec"]["Name"] == name]
        try:
            for object_id in found:
                remove(object_id)
        except docker.errors.APIError as error:
            if "in use" in str(error):
                return False
            raise
        return True

    @_translated
    def create_service(self, spec: ServiceSpec) -> None:
        ids = self._reference_ids()
        self.api.create_service(**swarm_specs.service_arguments(spec, ids))

    @_translated
    def update_service(self, spec: ServiceSpec) -> None:
        current = self.api.inspect_service(spec.name)
        arguments = swarm_specs.service_arguments(spec, self._reference_ids())
        # Keep Swarm's counter: a different value would force every task to restart.
        force = current["Spec"]["TaskTemplate"].get("ForceUpdate", 0)
        arguments["task_template"]["ForceUpdate"] = force
        self.api.update_service(current["ID"], current["Version"]["Index"], **arguments)

    @_translated
    def remove_service(self, name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.api.remove_service(name)

    @_translated
    def progress(self, name: str) -> ServiceProgress:
        service = self.api.inspect_service(name)
        return _progress(self.api, service)

    @_translated
    def nodes(self) -> list[ObservedNode]:
        return [_node(n) for n in self.api.nodes()]

    @_translated
    def project_services(self, project: str) -> list[ServiceProgress]:
        found = self.api.services(filters=project_filter(project))
        return sorted((_progress(self.api, s) for s in found), key=lambda s: s.name)

    @_translated
    def logs(self, name: str, follow: bool, tail: int | str,
             since: float | None = None, timestamps: bool = False) -> Iterator[bytes]:
        """`docker service logs`: every task's lines, on whichever node it runs."""
        try:
            yield from self.api.service_logs(name, stdout=True, stderr=True, follow=follow,
                                             tail=tail, since=int(since or 0),
                                             timestamps=timestamps)
        except docker.errors.NotFound as error:
            raise DockerError(f"service {name} does not exist; `deploy` creates it") from error

    def _reference_ids(self) -> dict[str, str]:
        """Config and secret name -> id (a service refers to both by id)."""
        found = {c["Spec"]["Name"]: c["ID"] for c in self.api.configs()}
        return found | {s["Spec"]["Name"]: s["ID"] for s in self.api.secrets()}


def _network(row: dict[str, Any]) -> ObservedNetwork:
    config = (row.get("IPAM") or {}).get("Config") or []
    return ObservedNetwork(name=row["Name"], id=row["Id"],
                           subnets=[c["Subnet"] for c in config if "Subnet" in c],
                           internal=bool(row.get("Internal")), labels=row.get("Labels") or {},
                           driver=row.get("Driver") or "")


def _node(row: dict[str, Any]) -> ObservedNode:
    spec, status = row.get("Spec") or {}, row.get("Status") or {}
    description = row.get("Description") or {}
    platform = description.get("Platform") or {}
    return ObservedNode(
        id=row["ID"], hostname=description.get("Hostname", ""), role=spec.get("Role", ""),
        availability=spec.get("Availability", ""), state=status.get("State", ""),
        labels=dict(spec.get("Labels") or {}),
        engine_labels=dict((description.get("Engine") or {}).get("Labels") or {}),
        os=platform.get("OS", ""), arch=platform.get("Architecture", ""),
        address=status.get("Addr", ""))


def _service(row: dict[str, Any], network_names: dict[str, str]) -> ObservedService:
    spec = row.get("Spec") or {}
    template = spec.get("TaskTemplate") or {}
    container = template.get("ContainerSpec") or {}
    ports = (spec.get("EndpointSpec") or {}).get("Ports") or []
    update = row.get("UpdateStatus") or {}
    return ObservedService(
        name=spec.get("Name", ""), id=row["ID"], labels=spec.get("Labels") or {},
        image=container.get("Image", ""),
        env_names=sorted(e.split("=", 1)[0] for e in container.get("Env") or []),
        configs=[c["ConfigName"] for c in container.get("Configs") or []],
        secrets=[s["SecretName"] for s in container.get("Secrets") or []],
        mounts=[m["Target"] for m in container.get("Mounts") or []],
        constraints=list((template.get("Placement") or {}).get("Constraints") or []),
        networks=[network_names.get(n["Target"], n["Target"])
                  for n in template.get("Networks") or []],
        ports=[f"{p.get('PublishedPort')}:{p.get('TargetPort')}/{p.get('Protocol', 'tcp')}"
               for p in ports],
        update_state=update.get("State", ""), update_message=update.get("Message", ""))


def _progress(api: docker.APIClient, service: dict[str, Any]) -> ServiceProgress:
    nodes = {n["ID"]: (n.get("Description") or {}).get("Hostname", "") for n in api.nodes()}
    tasks = api.tasks(filters={"service": service["ID"]})
    spec = service.get("Spec") or {}
    rows = [TaskRow(
        id=t["ID"], node=nodes.get(t.get("NodeID", ""), ""), desired=t.get("DesiredState", ""),
        state=(t.get("Status") or {}).get("State", ""),
        message=(t.get("Status") or {}).get("Message", ""),
        error=(t.get("Status") or {}).get("Err", ""),
        image=((t.get("Spec") or {}).get("ContainerSpec") or {}).get("Image", ""),
        up_to_date=_up_to_date(t, spec))
        for t in sorted(tasks, key=lambda t: t.get("CreatedAt", ""), reverse=True)]
    update = service.get("UpdateStatus") or {}
    image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
    return ServiceProgress(spec.get("Name", ""), update.get("State", ""),
                           update.get("Message", ""), update.get("StartedAt", ""), rows, image)


def _up_to_date(task: dict[str, Any], spec: dict[str, Any]) -> bool:
    """As Swarm decides whether a task is dirty: its spec against the service's task
    template (placement aside: a task on a node that still fits stays; empty values
    aside: the engine reports `{}` on one side and nothing on the other), and its
    published ports against the service's."""
    def normal(value: Any) -> Any:
        if isinstance(value, dict):
            kept = {k: normal(v) for k, v in value.items() if k not in ("Placement", "Runtime")}
            return {k: v for k, v in kept.items() if v not in ({}, [], None, "")}
        if isinstance(value, list):
            return [normal(v) for v in value]
        return value

    endpoint = (task.get("Endpoint") or {}).get("Spec")
    wanted = spec.get("EndpointSpec") or {}
    same_ports = endpoint is None or (endpoint.get("Ports") or []) == (wanted.get("Ports") or [])
    return same_ports and normal(task.get("Spec") or {}) == normal(spec.get("TaskTemplate") or {})
