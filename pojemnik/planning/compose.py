"""Export the stack as an equivalent Compose file, so users can leave at any time.

Same names as pojemnik gives its objects (`<project>-<name>` networks and volumes),
so `invoke down && docker compose up -d` keeps the database volume.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..declaration.model import LABEL_SERVICE, Service, Stack, Started, VolumeMount
from ..declaration.order import startup_order
from ..declaration.units import memory_bytes
from .render import is_secret
from .spec import ContainerSpec, container_spec, image_spec, network_spec, volume_labels


def compose_document(stack: Stack) -> dict[str, Any]:
    order = [name for wave in startup_order(stack) for name in wave]
    services = {name: _service(stack, stack.service(name)) for name in order}
    networks = {}
    for net in stack.networks:
        spec = network_spec(stack, net)
        networks[net.name] = {"name": spec.name, "driver": "bridge",
                              "internal": spec.internal, "labels": spec.labels,
                              "ipam": {"config": [{"subnet": spec.subnet,
                                                   "gateway": spec.gateway}]}}
    volumes = {v.name: {"name": stack.volume_name(v.name),
                        "labels": volume_labels(stack, v.name)} for v in stack.volumes}
    return {"name": stack.project, "services": services, "networks": networks,
            "volumes": volumes}


def _service(stack: Stack, service: Service) -> dict[str, Any]:
    spec = container_spec(stack, service)
    entry: dict[str, Any] = {"image": spec.image}
    if stack.image(service.image):
        image = image_spec(stack, service.image)
        entry["build"] = {"context": image.context, "dockerfile": image.dockerfile,
                          "args": image.build_args}
    if spec.command is not None:
        entry["command"] = spec.command
    if spec.user:
        entry["user"] = spec.user
    if spec.environment:
        # Secret-looking values stay out of the file: Compose reads them from the
        # environment (or a .env beside compose.yaml) at `up`.
        entry["environment"] = {k: ("${" + k + "}" if is_secret(k, v) else v)
                                for k, v in spec.environment.items()}
    entry["networks"] = {
        net_name: {"aliases": attachment.aliases,
                   **({"ipv4_address": attachment.ip} if attachment.ip else {})}
        for net_name, attachment in zip(service.networks, spec.networks, strict=True)
    }
    if spec.ports:
        entry["ports"] = [{"target": p.container, "published": str(p.host),
                           "host_ip": p.address, "protocol": p.protocol} for p in spec.ports]
    volumes = _volumes(service, spec)
    if volumes:
        entry["volumes"] = volumes
    if spec.tmpfs:
        # The service-level list keeps pojemnik's options (noexec, nosuid); the long
        # volume syntax has only size and mode.
        entry["tmpfs"] = [f"{target}:{options}" for target, options in spec.tmpfs.items()]
    entry.update(_limits_and_policy(spec, stack.project))
    if service.depends_on:
        entry["depends_on"] = {str(d): {"condition": "service_started"
                                        if isinstance(d, Started) else "service_healthy"}
                               for d in service.depends_on}
    return entry


def _volumes(service: Service, spec: ContainerSpec) -> list[dict[str, Any]]:
    # Compose names volumes by their declared (short) name; `volumes:` maps it to ours.
    short = {m.target: m.volume for m in service.mounts if isinstance(m, VolumeMount)}
    volumes: list[dict[str, Any]] = []
    for mount in spec.mounts:
        if mount.type == "volume":
            volumes.append({"type": "volume", "source": short[mount.target],
                            "target": mount.target, "read_only": mount.read_only})
        else:
            volumes.append({"type": "bind", "source": mount.source, "target": mount.target,
                            "read_only": mount.read_only, "bind": {"create_host_path": False}})
    return volumes


def _limits_and_policy(spec: ContainerSpec, project: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "read_only": spec.read_only,
        "cap_drop": spec.cap_drop,
        "security_opt": spec.security_opt,
        "mem_limit": memory_bytes(spec.limits.memory),
        "memswap_limit": spec.memory_swap,
        "cpus": spec.limits.cpus,
        "pids_limit": spec.limits.pids,
        "restart": spec.restart,
        "init": False,  # as pojemnik runs them: the image's own PID 1
        "stop_grace_period": f"{spec.stop_grace:g}s",
        "logging": {"driver": spec.logging.driver, "options": dict(spec.logging.options)},
        # Not pojemnik.project: containers Compose runs are not pojemnik's to manage.
        "labels": {"pojemnik.exported-from": project, LABEL_SERVICE: spec.service},
    }
    if spec.stop_signal:
        entry["stop_signal"] = spec.stop_signal
    if spec.cap_add:
        entry["cap_add"] = spec.cap_add
    if spec.healthcheck is not None:
        check = spec.healthcheck
        entry["healthcheck"] = {"test": ["CMD", *check.test], "interval": f"{check.interval}s",
                                "timeout": f"{check.timeout}s", "retries": check.retries,
                                "start_period": f"{check.start_period}s"}
    return entry


def to_yaml(value: Any, indent: int = 0) -> str:
    """A small YAML writer for what Compose needs: maps, lists and JSON-quoted scalars."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{_scalar(key)}:\n{to_yaml(item, indent + 1)}")
            else:
                lines.append(f"{pad}{_scalar(key)}: {to_yaml(item, 0)}")
        return "\n".join(lines)
    if isinstance(value, list):
        if not value:
            return "[]"
        lines = []
        for item in value:
            if isinstance(item, dict) and item:
                nested = to_yaml(item, indent + 1).lstrip()
                lines.append(f"{pad}- {nested}")
            else:
                lines.append(f"{pad}- {to_yaml(item, 0)}")
        return "\n".join(lines)
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    text = str(value)
    if PLAIN.match(text) and text.lower() not in YAML_WORDS:
        return text
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


# Strings safe to write unquoted: no YAML syntax, and not read back as another type.
PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./@-]*$")
YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}
