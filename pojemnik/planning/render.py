"""Show a plan to people (a table), to programs (JSON), or as the bash script it replaces.

The bash form is the article's own style: `docker image build`, `docker network
create`, `docker run`-equivalents, runnable as it is. Values of variables that look
secret are never printed: the script reads them from the environment instead.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict

from ..declaration.model import LABEL_PROJECT
from ..declaration.units import memory_bytes
from . import plan as p
from .spec import ContainerSpec, ImageSpec, NetworkSpec
from .state import FilesDiff
from .upstreams import upstream_files

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE|API_?KEY|CREDENTIAL", re.IGNORECASE)
# A URL with a password in it (postgres://app:pw@db/app, redis://:pw@cache), whatever the
# variable is called: DATABASE_URL, CELERY_BROKER, SENTRY_DSN...
URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s]*:[^/?#@\s]+@")
MASK = "******"


def is_secret(name: str, value: str = "") -> bool:
    """DB_PASSWORD is; DB_PASSWORD_FILE (a path to the secret) is not; nor is any value
    that carries a password in a URL."""
    if URL_PASSWORD.search(value):
        return True
    return bool(SECRET_NAME.search(name)) and not name.upper().endswith(("_FILE", "_PATH"))


def masked_env(env: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if is_secret(k, v) else v) for k, v in env.items()}


def summary(plan: p.Plan) -> str:
    """One line: what a deploy did (or would do)."""
    counts = {
        "built": len(plan.of_kind(p.BUILD_BASE, p.BUILD)),
        "created": len(plan.of_kind(p.CREATE, p.CREATE_NETWORK, p.CREATE_VOLUME)),
        "recreated": len(plan.of_kind(p.RECREATE, p.RECREATE_NETWORK)),
        "started": len(plan.of_kind(p.START)),
        "reloaded": len(plan.of_kind(p.RELOAD)),
        **_file_counts(plan),
        "unchanged": len(plan.unchanged),
    }
    text = ", ".join(f"{key} {value}" for key, value in counts.items())
    if plan.orphans:
        text += f"; orphans: {', '.join(plan.orphans)}"
    return text


def _file_counts(plan: p.Plan) -> dict[str, int]:
    files = [a.files for a in plan.of_kind(p.SHIP_FILES) if a.files]
    return {"files sent": sum(len(f.send) for f in files),
            "files removed": sum(len(f.remove) for f in files)} if files else {}


def table(plan: p.Plan) -> str:
    rows = [(a.kind, a.target, a.reason) for a in plan.actions]
    lines = action_lines(plan.project, rows, len(plan.unchanged), plan.orphans)
    for action in plan.of_kind(p.SHIP_FILES):
        lines += file_lines(action.files) if action.files else []
    return "\n".join(lines)


FILES_SHOWN = 40  # of each kind; a first deploy sends every file: `--format json` has all


def file_lines(files: FilesDiff) -> list[str]:
    """The files a remote deploy sends, removes and makes, one per line."""
    lines = []
    for word, names in (("send", files.send), ("remove", files.remove),
                        ("make", files.seed)):
        lines += [f"  {word:<6}  {name}" for name in names[:FILES_SHOWN]]
        if len(names) > FILES_SHOWN:
            lines.append(f"  {word:<6}  ... and {len(names) - FILES_SHOWN} more "
                         "(`--format json` lists them all)")
    return lines


def action_lines(project: str, rows: list[tuple[str, str, str]], unchanged: int,
                 orphans: list[str]) -> list[str]:
    """A plan for people: one aligned line per action (kind, target, reason), or that
    there is nothing to do; then the orphans (both targets' plans)."""
    if not rows:
        lines = [f"{project}: nothing to do ({unchanged} unchanged)"]
    else:
        widths = [max(len(r[i]) for r in [("ACTION", "TARGET", "REASON"), *rows])
                  for i in range(2)]
        lines = [f"{'ACTION':<{widths[0]}}  {'TARGET':<{widths[1]}}  REASON"]
        lines += [f"{k:<{widths[0]}}  {t:<{widths[1]}}  {r}" for k, t, r in rows]
    if orphans:
        lines.append("orphans (not declared; `--remove-orphans` removes them): "
                     + ", ".join(orphans))
    return lines


def action_record(kind: str, target: str, reason: str) -> dict[str, object]:
    """The part of a JSON action both targets' plans share."""
    return {"kind": kind, "target": target, "reason": reason}


def plan_json(project: str, actions: list[dict[str, object]], unchanged: object,
              orphans: object, lead: dict[str, object] | None = None,
              tail: dict[str, object] | None = None) -> str:
    """The JSON shape of a plan, for either target (`lead` after the project, `tail` at
    the end: a Swarm plan's target, its prepare step, its notes)."""
    return json.dumps({"project": project, **(lead or {}), "actions": actions,
                       "unchanged": unchanged, "orphans": orphans, **(tail or {})}, indent=2)


def as_json(plan: p.Plan) -> str:
    def action(a: p.Action) -> dict[str, object]:
        data = action_record(a.kind, a.target, a.reason)
        if a.container is not None:
            spec = asdict(a.container)
            spec["environment"] = masked_env(a.container.environment)
            data["container"] = spec
            data["wave"] = a.wave
            data["after"] = list(a.after)  # started first, in the same wave
        if a.image is not None:
            data["image"] = asdict(a.image)
        if a.network is not None:
            data["network"] = asdict(a.network)
        if a.files is not None:
            data["files"] = {"root": a.files.root, "send": list(a.files.send),
                             "remove": list(a.files.remove), "make": list(a.files.seed)}
        return data

    return plan_json(plan.project, [action(a) for a in plan.actions], plan.unchanged,
                     plan.orphans)


def bash(plan: p.Plan, base_command: str = "") -> str:
    lines = ["#!/usr/bin/env bash",
             f"# pojemnik plan for project {plan.project}: the docker commands it runs.",
             "set -euo pipefail", ""]
    if plan.proxies and plan.of_kind(p.CREATE, p.RECREATE):
        lines += _upstream_files(plan)
    for action in plan.actions:
        lines.append(f"# {action.kind} {action.target}: {action.reason}")
        lines += _commands(action, base_command)
        if action.start_first:
            lines += _upstream_switch(plan, action)
        lines.append("")
    return "\n".join(lines)


def _upstream_files(plan: p.Plan) -> list[str]:
    """The proxies' upstream files, each service at its declared address."""
    lines = ["# the proxy's upstream files (pojemnik rewrites them when a service moves)"]
    for proxy in plan.proxies:
        lines.append(f"mkdir -p {shlex.quote(proxy.directory)}")
        for name, content in upstream_files(proxy, {}).items():
            path = shlex.quote(f"{proxy.directory}/{name}")
            lines.append(f"cat > {path} <<'EOF'\n{content}EOF")
    return [*lines, ""]


def _commands(action: p.Action, base_command: str) -> list[str]:
    if action.kind == p.BUILD_BASE:
        return [base_command or f"# build {action.target} with `invoke images.base`"]
    if action.kind == p.BUILD and action.image:
        return [build_command(action.image)]
    if action.kind == p.CREATE_NETWORK and action.network:
        return [network_command(action.network)]
    if action.kind == p.RECREATE_NETWORK and action.network:
        name = shlex.quote(action.target)
        return [f"docker ps -aq --filter network={name} --filter "
                f"label=pojemnik.project={shlex.quote(action.network.labels[LABEL_PROJECT])} "
                "| xargs -r docker rm --force",
                f"docker network rm {name}", network_command(action.network)]
    if action.kind == p.CREATE_VOLUME:
        # The same labels pojemnik gives a volume, so `invoke` recognises the script's.
        return [" ".join(["docker volume create", *flags("--label", action.labels),
                          shlex.quote(action.target)])]
    if action.kind == p.CREATE_SECRET:
        return [f"# secret {action.target}: pojemnik writes a random value to .secrets/"]
    if action.kind == p.SHIP_FILES and action.files:
        return [f"#{line}" for line in file_lines(action.files)] + [
            f"# (pojemnik copies these from the checkout into {action.files.root} over SSH)"]
    if action.kind == p.START:
        return [f"docker start {shlex.quote(action.target)}"]
    if action.kind == p.REMOVE_ORPHAN:
        return [f"docker rm --force {shlex.quote(action.target)}"]
    if action.container is not None:
        prefix = ([f"docker rm --force {shlex.quote(action.target)}"]
                  if action.kind == p.RECREATE else [])
        return prefix + container_commands(action.container)
    return []


def _upstream_switch(plan: p.Plan, action: p.Action) -> list[str]:
    """A replacement on its other address: the proxies' upstream file follows it, then
    each proxy reloads (the script replaces stop-first; pojemnik does it start-first)."""
    assert action.container is not None
    addresses: dict[str, dict[str, str] | None] = {
        action.target: {a.network: a.ip or "" for a in action.container.networks}}
    lines = []
    for proxy in plan.proxies:
        files = upstream_files(proxy, addresses)
        for upstream in (u for u in proxy.upstreams if u.container == action.target):
            path = shlex.quote(f"{proxy.directory}/{upstream.file}")
            lines.append(f"cat > {path} <<'EOF'\n{files[upstream.file]}EOF")
            lines.append(f"docker exec {shlex.quote(proxy.proxy)} "
                         f"{shlex.join(proxy.reload.command if proxy.reload else ['true'])}")
    return lines


def flags(flag: str, values: dict[str, str]) -> list[str]:
    """`--label k=v` and the like, sorted, each value quoted for the shell."""
    return [f"{flag} {shlex.quote(f'{k}={v}')}" for k, v in sorted(values.items())]


def build_command(spec: ImageSpec) -> str:
    parts = ["docker image build", f"--tag {shlex.quote(spec.tag)}",
             f"--file {shlex.quote(spec.context + '/' + spec.dockerfile)}"]
    parts += flags("--build-arg", spec.build_args) + flags("--label", spec.labels)
    parts.append(shlex.quote(spec.context))
    return " \\\n  ".join(parts)


def network_command(spec: NetworkSpec) -> str:
    parts = ["docker network create --driver=bridge", f"--subnet={spec.subnet}",
             f"--gateway={spec.gateway}"]
    if spec.internal:
        parts.append("--internal")
    parts += flags("--label", spec.labels)
    parts.append(shlex.quote(spec.name))
    return " \\\n  ".join(parts)


def container_commands(spec: ContainerSpec) -> list[str]:
    q = shlex.quote
    parts = ["docker container create", f"--name {q(spec.name)}"]
    first = spec.networks[0] if spec.networks else None
    others = spec.networks[1:]
    if first is not None:
        parts.append(f"--network {q(first.network)}")
        if first.ip:
            parts.append(f"--ip {first.ip}")
        parts += [f"--network-alias {q(alias)}" for alias in first.aliases]
    for port in spec.ports:
        parts.append(f"--publish {port.address}:{port.host}:{port.container}/{port.protocol}")
    for mount in spec.mounts:
        option = f"type={mount.type},source={mount.source},target={mount.target}"
        parts.append(f"--mount {q(option + (',readonly' if mount.read_only else ''))}")
    for target, options in sorted(spec.tmpfs.items()):
        parts.append(f"--tmpfs {q(target + ':' + options)}")
    for name, value in sorted(spec.environment.items()):
        # Secret-looking values come from the environment of whoever runs the script.
        parts.append(f"--env {q(name)}" if is_secret(name, value)
                     else f"--env {q(f'{name}={value}')}")
    parts += flags("--label", spec.labels)
    if spec.user:
        parts.append(f"--user {q(spec.user)}")
    if spec.read_only:
        parts.append("--read-only")
    parts += [*[f"--cap-drop {q(c)}" for c in spec.cap_drop],
              *[f"--cap-add {q(c)}" for c in spec.cap_add],
              *[f"--security-opt {q(o)}" for o in spec.security_opt]]
    limits = spec.limits
    parts += [f"--memory {memory_bytes(limits.memory)}",
              f"--memory-swap {spec.memory_swap}",
              f"--cpus {limits.cpus}", f"--pids-limit {limits.pids}",
              f"--restart {q(spec.restart)}", f"--log-driver {q(spec.logging.driver)}"]
    parts += flags("--log-opt", spec.logging.options)
    if spec.healthcheck is not None:
        check = spec.healthcheck
        parts += [f"--health-cmd {q(shlex.join(check.test))}",
                  f"--health-interval {check.interval}s", f"--health-timeout {check.timeout}s",
                  f"--health-retries {check.retries}",
                  f"--health-start-period {check.start_period}s"]
    parts.append(q(spec.image))
    if spec.command:
        parts.append(shlex.join(spec.command))
    lines = [" \\\n  ".join(parts)]
    for attachment in others:
        connect = ["docker network connect"]
        if attachment.ip:
            connect.append(f"--ip {attachment.ip}")
        connect += [f"--alias {q(alias)}" for alias in attachment.aliases]
        connect += [q(attachment.network), q(spec.name)]
        lines.append(" ".join(connect))
    lines.append(f"docker start {q(spec.name)}")
    return lines
