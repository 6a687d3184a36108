"""Show a Swarm plan: a table (with what differs from a single host), JSON, or the
`docker network/config/secret/service` commands it stands for, run on the manager.

`docker service create` and `update` wait until the service converged (the CLI's
default), so the script, like a deploy, starts a wave once the one before runs.
Secret-looking environment values are never printed: the script reads them from the
environment of whoever runs it.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import asdict

from ...declaration.model import LABEL_SPEC_HASH
from .. import render
from ..render import action_lines, flags, is_secret, masked_env
from . import plan as sp
from .spec import ServiceSpec
from .state import ObservedService

q = shlex.quote
Flags = Callable[[ServiceSpec, ObservedService], list[str]]


def table(plan: sp.SwarmPlan) -> str:
    rows = [(a.kind, a.target, a.reason) for a in plan.prepare.actions]
    rows += [(a.kind, a.target, a.reason) for a in plan.actions]
    lines = action_lines(plan.project, rows, len(plan.unchanged), plan.orphans)
    if plan.notes:
        lines.append("on a Swarm, unlike one host:")
        lines += [f"  - {note}" for note in plan.notes]
    return "\n".join(lines)


def as_json(plan: sp.SwarmPlan) -> str:
    def action(a: sp.SwarmAction) -> dict[str, object]:
        data = render.action_record(a.kind, a.target, a.reason)
        if a.service is not None:
            spec = asdict(a.service)
            spec["environment"] = masked_env(a.service.environment)
            for config in spec["configs"]:
                config.pop("content")
            data["service"] = spec
            data["wave"] = a.wave
        if a.network is not None:
            data["network"] = asdict(a.network)
        return data

    prepare = json.loads(render.as_json(plan.prepare))
    return render.plan_json(plan.project, [action(a) for a in plan.actions], plan.unchanged,
                            plan.orphans, {"target": "swarm", "prepare": prepare["actions"]},
                            {"notes": plan.notes})


def bash(plan: sp.SwarmPlan, base_command: str = "") -> str:
    lines = ["#!/usr/bin/env bash",
             f"# pojemnik plan for project {plan.project} on a Docker Swarm: the docker "
             "commands it runs, on the manager.", "set -euo pipefail", ""]
    lines += [f"# on a Swarm: {note}" for note in plan.notes]
    prepared = render.bash(plan.prepare, base_command).splitlines()[4:]
    lines += ["", *prepared]
    for action in plan.actions:
        lines.append(f"# {action.kind} {action.target}: {action.reason}")
        lines += _commands(action)
        lines.append("")
    return "\n".join(lines)


def _commands(action: sp.SwarmAction) -> list[str]:
    name = q(action.target)
    if action.kind == sp.CREATE_NETWORK and action.network:
        net = action.network
        parts = ["docker network create --driver overlay --attachable",
                 f"--subnet {net.subnet}", f"--gateway {net.gateway}"]
        parts += ["--internal"] if net.internal else []
        parts += [*flags("--label", net.labels), name]
        return [" \\\n  ".join(parts)]
    if action.kind == sp.CREATE_CONFIG and action.config:
        config = action.config
        labels = " ".join(flags("--label", {"pojemnik.path": config.path}))
        if config.content is not None:
            return [f"printf '%s' {q(config.content)} | docker config create {labels} {name} -"]
        return [f"docker config create {labels} {name} {q(config.path)}"]
    if action.kind == sp.CREATE_SWARM_SECRET:
        return [f"docker secret create {name} {q(action.secret_path)}"]
    if action.kind == sp.CREATE_SERVICE and action.service:
        return [create_command(action.service)]
    if action.kind == sp.UPDATE_SERVICE and action.service and action.previous:
        return [update_command(action.service, action.previous, action.drift)]
    if action.kind == sp.REPLACE_SERVICE and action.service:
        return [f"docker service rm {name}", create_command(action.service)]
    removals = {sp.REMOVE_SERVICE: "service", sp.REMOVE_CONFIG: "config",
                sp.REMOVE_SWARM_SECRET: "secret"}
    if action.kind in removals:
        return [f"docker {removals[action.kind]} rm {name}"]
    return []


def image_ref(spec: ServiceSpec) -> str:
    """The image id the tasks run (pinned: every node runs the same image); before it is
    built, the id the tag then has."""
    if spec.image_id:
        return spec.image_id
    return f"\"$(docker image inspect --format '{{{{.Id}}}}' {q(spec.image)})\""


def _env(spec: ServiceSpec, flag: str) -> list[str]:
    return [f"{flag} {q(k)}" if is_secret(k, v) else f"{flag} {q(f'{k}={v}')}"
            for k, v in sorted(spec.environment.items())]


def _networks(spec: ServiceSpec, flag: str) -> list[str]:
    return [f"{flag} {q(f'name={n.network},' + ','.join(f'alias={a}' for a in n.aliases))}"
            for n in spec.networks]


def _ports(spec: ServiceSpec, flag: str) -> list[str]:
    return [f"{flag} mode={p.mode},published={p.published},target={p.target},"
            f"protocol={p.protocol}" for p in spec.ports]


def _mounts(spec: ServiceSpec, flag: str) -> list[str]:
    found = []
    for mount in spec.mounts:
        option = f"type={mount.type},source={mount.source},target={mount.target}"
        option += ",readonly" if mount.read_only else ""
        for key, value in sorted(spec.volume_labels.get(mount.source, {}).items()):
            option += f",volume-label={key}={value}"
        found.append(f"{flag} {q(option)}")
    for target, (size, mode) in sorted(spec.tmpfs.items()):
        option = f"type=tmpfs,target={target},tmpfs-size={size},tmpfs-mode={mode:o}"
        found.append(f"{flag} {q(option)}")
    return found


def _configs(spec: ServiceSpec, flag: str) -> list[str]:
    return [f"{flag} {q(f'source={c.name},target={c.target},mode={c.mode:04o}')}"
            for c in spec.configs]


def _secrets(spec: ServiceSpec, flag: str) -> list[str]:
    return [f"{flag} {q(f'source={s.name},target={s.target},mode=0444')}"
            for s in spec.secrets]


def _health(spec: ServiceSpec) -> list[str]:
    check = spec.healthcheck
    if check is None:
        return []
    return [f"--health-cmd {q(shlex.join(check.test))}", f"--health-interval {check.interval}s",
            f"--health-timeout {check.timeout}s", f"--health-retries {check.retries}",
            f"--health-start-period {check.start_period}s"]


def _limits(spec: ServiceSpec) -> list[str]:
    from ...declaration.units import memory_bytes

    return [f"--limit-memory {memory_bytes(spec.limits.memory)}",
            f"--limit-cpu {spec.limits.cpus}", f"--limit-pids {spec.limits.pids}"]


def _policy(spec: ServiceSpec) -> list[str]:
    """Updates one task at a time, watched for `monitor` seconds; a failure rolls back."""
    return [f"--update-order {spec.update_order}", "--update-parallelism 1",
            "--update-failure-action rollback", f"--update-monitor {spec.monitor}s",
            f"--rollback-order {spec.update_order}", "--rollback-parallelism 1",
            f"--rollback-monitor {spec.monitor}s"]


def _logging(spec: ServiceSpec) -> list[str]:
    return [f"--log-driver {q(spec.logging.driver)}",
            *flags("--log-opt", spec.logging.options)]


def _stop(spec: ServiceSpec) -> list[str]:
    found = [f"--stop-grace-period {spec.stop_grace}s"]
    return found + ([f"--stop-signal {q(spec.stop_signal)}"] if spec.stop_signal else [])


def create_command(spec: ServiceSpec) -> str:
    parts = ["docker service create --no-resolve-image", f"--name {q(spec.name)}"]
    parts += (["--mode global"] if spec.mode == "global"
              else ["--mode replicated", f"--replicas {spec.replicas}"])
    parts.append(f"--endpoint-mode {spec.endpoint_mode}")
    parts += _networks(spec, "--network") + _ports(spec, "--publish")
    parts += [f"--constraint {q(c)}" for c in spec.constraints]
    parts += _configs(spec, "--config") + _secrets(spec, "--secret")
    parts += _mounts(spec, "--mount") + _env(spec, "--env") + flags("--label", spec.labels)
    parts += [f"--user {q(spec.user)}"] if spec.user else []
    parts += ["--read-only"] if spec.read_only else []
    parts += [f"--cap-drop {q(c)}" for c in spec.cap_drop]
    parts += [f"--cap-add {q(c)}" for c in spec.cap_add]
    parts += [*_limits(spec), f"--restart-condition {spec.restart}", *_health(spec)]
    parts += _stop(spec) + _logging(spec) + _policy(spec)
    parts.append(image_ref(spec))
    if spec.command:
        parts.append(shlex.join(spec.command))
    return " \\\n  ".join(parts)


def _replace(old: list[str], new: list[str], remove: str) -> list[str]:
    return [f"{remove} {q(name)}" for name in old if name not in new]


UPDATES: dict[str, Flags] = {
    "image_id": lambda s, o: [f"--image {image_ref(s)}"],
    "command": lambda s, o: [f"--args {q(shlex.join(s.command or []))}"],
    "environment": lambda s, o: _replace(o.env_names, list(s.environment), "--env-rm")
    + _env(s, "--env-add"),
    "user": lambda s, o: [f"--user {q(s.user or '')}"],
    "read_only": lambda s, o: [f"--read-only={str(s.read_only).lower()}"],
    "cap_add": lambda s, o: [f"--cap-add {q(c)}" for c in s.cap_add],
    "healthcheck": lambda s, o: _health(s) or ["# (health check: the image's)"],
    "stop_signal": lambda s, o: _stop(s), "stop_grace": lambda s, o: _stop(s),
    "limits": lambda s, o: _limits(s),
    "restart": lambda s, o: [f"--restart-condition {s.restart}"],
    "networks": lambda s, o: _replace(o.networks, [n.network for n in s.networks],
                                      "--network-rm") + _networks(s, "--network-add"),
    "ports": lambda s, o: [f"--publish-rm {p.split(':')[-1].split('/')[0]}" for p in o.ports]
    + _ports(s, "--publish-add"),
    "endpoint_mode": lambda s, o: [f"--endpoint-mode {s.endpoint_mode}"],
    "replicas": lambda s, o: [f"--replicas {s.replicas}"],
    "constraints": lambda s, o: _replace(o.constraints, [], "--constraint-rm")
    + [f"--constraint-add {q(c)}" for c in s.constraints],
    "mounts": lambda s, o: _replace(o.mounts, [], "--mount-rm") + _mounts(s, "--mount-add"),
    "configs": lambda s, o: _replace(o.configs, [c.name for c in s.configs], "--config-rm")
    + _configs(s, "--config-add"),
    "secrets": lambda s, o: _replace(o.secrets, [x.name for x in s.secrets], "--secret-rm")
    + _secrets(s, "--secret-add"),
    "update_order": lambda s, o: _policy(s), "monitor": lambda s, o: _policy(s),
    "logging": lambda s, o: _logging(s),
}
UPDATES["tmpfs"] = UPDATES["mounts"]


def update_command(spec: ServiceSpec, previous: ObservedService,
                   drifted: tuple[str, ...]) -> str:
    """Only the flags of what drifted, then the new spec-hash label."""
    parts = ["docker service update"]
    for field in drifted:
        for flag in UPDATES.get(field, lambda s, o: [])(spec, previous):
            if flag not in parts:
                parts.append(flag)
    parts += [f"--label-add {q(f'{k}={v}')}" for k, v in sorted(spec.labels.items())
              if k == LABEL_SPEC_HASH]
    parts.append(q(spec.name))
    return " \\\n  ".join(parts)
