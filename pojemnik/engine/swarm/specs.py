"""A `ServiceSpec` as the Docker SDK's service arguments (`docker service create`)."""

from __future__ import annotations

from typing import Any

from docker.types import (
    ConfigReference,
    ContainerSpec,
    EndpointSpec,
    Healthcheck,
    Mount,
    NetworkAttachmentConfig,
    Placement,
    Resources,
    RestartPolicy,
    RollbackConfig,
    SecretReference,
    ServiceMode,
    TaskTemplate,
    UpdateConfig,
)

from ...declaration.units import memory_bytes
from ...planning.swarm.spec import ServiceSpec

NS = 1_000_000_000  # the API's durations are nanoseconds
RESTART_DELAY = 5 * NS


def service_arguments(spec: ServiceSpec, ids: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments of `APIClient.create_service` / `update_service`; `ids`: config
    and secret names -> their ids."""
    template = TaskTemplate(
        container_spec=_container(spec, ids), resources=_resources(spec),
        restart_policy=RestartPolicy(condition=spec.restart, delay=RESTART_DELAY),
        placement=Placement(constraints=list(spec.constraints)),
        log_driver={"Name": spec.logging.driver, "Options": dict(spec.logging.options)},
        networks=[NetworkAttachmentConfig(n.network, aliases=list(n.aliases))
                  for n in spec.networks])
    mode = (ServiceMode("global") if spec.mode == "global"
            else ServiceMode("replicated", replicas=spec.replicas))
    endpoint = EndpointSpec(mode=spec.endpoint_mode)
    endpoint["Ports"] = [{"Protocol": p.protocol, "TargetPort": p.target,
                          "PublishedPort": p.published, "PublishMode": p.mode}
                         for p in spec.ports]
    return {"task_template": template, "name": spec.name, "labels": dict(spec.labels),
            "mode": mode, "endpoint_spec": endpoint,
            "update_config": _policy(spec, UpdateConfig, "rollback"),
            "rollback_config": _policy(spec, RollbackConfig, "pause")}


def _policy(spec: ServiceSpec, kind: Any, on_failure: str) -> Any:
    """One task at a time, each watched for `monitor`; a failed update rolls back by
    itself (a failed rollback pauses, for a person to look)."""
    return kind(parallelism=1, delay=0, failure_action=on_failure,
                monitor=int(spec.monitor * NS), max_failure_ratio=0, order=spec.update_order)


def _container(spec: ServiceSpec, ids: dict[str, str]) -> ContainerSpec:
    mounts = [Mount(m.target, m.source, type=m.type, read_only=m.read_only,
                    labels=spec.volume_labels.get(m.source) if m.type == "volume" else None)
              for m in spec.mounts]
    mounts += [Mount(target, None, type="tmpfs", tmpfs_size=size, tmpfs_mode=mode)
               for target, (size, mode) in sorted(spec.tmpfs.items())]
    check = spec.healthcheck
    health = Healthcheck(test=["CMD", *check.test], interval=int(check.interval * NS),
                         timeout=int(check.timeout * NS), retries=check.retries,
                         start_period=int(check.start_period * NS)) if check else None
    return ContainerSpec(
        image=spec.image_id or spec.image, args=spec.command,
        env=[f"{k}={v}" for k, v in sorted(spec.environment.items())], user=spec.user,
        labels={k: v for k, v in spec.labels.items() if k != "pojemnik.spec-hash"},
        mounts=mounts, stop_grace_period=int(spec.stop_grace * NS),
        stop_signal=spec.stop_signal, read_only=spec.read_only, healthcheck=health,
        cap_add=spec.cap_add or None, cap_drop=spec.cap_drop or None,
        configs=[ConfigReference(ids[c.name], c.name, filename=c.target, uid="0", gid="0",
                                 mode=c.mode) for c in spec.configs],
        secrets=[SecretReference(ids[s.name], s.name, filename=s.target, uid="0", gid="0",
                                 mode=0o444) for s in spec.secrets])


def _resources(spec: ServiceSpec) -> Resources:
    resources = Resources(cpu_limit=int(spec.limits.cpus * NS),
                          mem_limit=memory_bytes(spec.limits.memory))
    resources["Limits"]["Pids"] = spec.limits.pids  # API 1.41 (Docker 20.10)
    return resources
