"""Export the stack as an equivalent Compose file, so users can leave at any time.

Same names as pojemnik gives its objects (`<project>-<name>` networks and volumes),
so `invoke down && docker compose up -d` keeps the database volume.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .model import LABEL_SERVICE, Stack, Tmpfs
from .render import is_secret
from .spec import container_spec, image_spec, memory_bytes, network_spec, volume_labels
from .validate import startup_order


def compose_document(stack: Stack) -> dict[str, Any]:
    services: dict[str, Any] = {}
    order = [name for wave in startup_order(stack) for name in wave]
    for name in order:
        service = stack.service(name)
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
            entry["environment"] = {k: ("${" + k + "}" if is_secret(k) else v)
                                    for k, v in spec.environment.items()}
        entry["networks"] = {
            net_name: {"aliases": attachment.aliases,
                       **({"ipv4_address": attachment.ip} if attachment.ip else {})}
            for net_name, attachment in zip(service.networks, spec.networks, strict=True)
        }
        if spec.ports:
            entry["ports"] = [{"target": p.container, "published": str(p.host),
                               "host_ip": p.address, "protocol": p.protocol}
                              for p in spec.ports]
        volumes: list[dict[str, Any]] = []
        for mount in spec.mounts:
            if mount.type == "volume":
                short = mount.source.removeprefix(f"{stack.project}-")
                volumes.append({"type": "volume", "source": short, "target": mount.target,
                                "read_only": mount.read_only})
            else:
                volumes.append({"type": "bind", "source": mount.source, "target": mount.target,
                                "read_only": mount.read_only,
                                "bind": {"create_host_path": False}})
        for tmpfs in (m for m in service.mounts if isinstance(m, Tmpfs)):
            volumes.append({"type": "tmpfs", "target": tmpfs.target,
                            "tmpfs": {"size": memory_bytes(tmpfs.size),
                                      "mode": int(tmpfs.mode, 8)}})
        if volumes:
            entry["volumes"] = volumes
        limits = spec.limits
        entry.update({
            "read_only": spec.read_only,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "mem_limit": memory_bytes(limits.memory),
            "memswap_limit": memory_bytes(limits.memory),
            "cpus": limits.cpus,
            "pids_limit": limits.pids,
            "restart": spec.restart,
            # Not pojemnik.project: containers Compose runs are not pojemnik's to manage.
            "labels": {"pojemnik.exported-from": stack.project, LABEL_SERVICE: name},
        })
        if spec.cap_add:
            entry["cap_add"] = spec.cap_add
        if spec.healthcheck is not None:
            check = spec.healthcheck
            entry["healthcheck"] = {"test": ["CMD", *check.test],
                                    "interval": f"{check.interval}s",
                                    "timeout": f"{check.timeout}s", "retries": check.retries,
                                    "start_period": f"{check.start_period}s"}
        if service.depends_on:
            entry["depends_on"] = {d: {"condition": "service_healthy"}
                                   for d in service.depends_on}
        services[name] = entry
    networks = {}
    for net in stack.networks:
        spec_n = network_spec(stack, net)
        networks[net.name] = {"name": spec_n.name, "driver": "bridge",
                              "internal": spec_n.internal, "labels": spec_n.labels,
                              "ipam": {"config": [{"subnet": spec_n.subnet,
                                                   "gateway": spec_n.gateway}]}}
    volumes_doc = {v.name: {"name": stack.volume_name(v.name),
                            "labels": volume_labels(stack, v.name)} for v in stack.volumes}
    return {"name": stack.project, "services": services, "networks": networks,
            "volumes": volumes_doc}


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
