"""The checks that ask the running stack: each declared site through the proxy (an HTTP
request to the proxy with the site's Host header), each container (unhealthy, restarting
in a loop, OOM-killed, missing) and its memory against the declared limit, and the host's
memory against what the declaration keeps for it. Each gives `{check name: Result}`."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from . import wire
from .docker_api import DockerAPI, memory_used
from .incidents import Result

SITE_TIMEOUT = 10.0


def sites(config: Mapping[str, Any]) -> dict[str, Result]:
    """`config`: the proxy's `address` and `port`, `https` or not, the site `names`."""
    return {f"site {name}": site(str(config.get("address", "127.0.0.1")),
                                 int(config["port"]), str(config.get("path", "/")), name,
                                 bool(config.get("https")))
            for name in config.get("names", [])}


def site(address: str, port: int, path: str, name: str, https: bool = False) -> Result:
    connect = wire.tcp(address, port, SITE_TIMEOUT, name if https else "")
    try:
        status, _, _ = wire.get(connect, path, name, limit=0)
    except OSError as error:
        return Result(False, f"{name} did not answer through the proxy at {address}:{port}: "
                             f"{type(error).__name__}: {error}. Look at `invoke status` and "
                             f"`invoke logs --service proxy`.")
    if status >= 500:
        return Result(False, f"{name} answers {status} through the proxy at {address}:{port}. "
                             "The proxy is up but the site behind it is not: "
                             "`invoke status`, `invoke logs`.")
    return Result(True)


def containers(api: DockerAPI, declared: Mapping[str, str],
               restarts: MutableMapping[str, int]) -> dict[str, Result]:
    """`declared`: service -> container name. `restarts`: each container's RestartCount
    at the last run, updated (it growing between runs is a restart loop)."""
    found = {}
    for service, name in sorted(declared.items()):
        data = api.inspect(name)
        found[f"container {service}"] = container(data, name, restarts.get(name))
        if data is None:
            restarts.pop(name, None)
        else:
            restarts[name] = _restart_count(data)
    return found


def container(data: Mapping[str, Any] | None, name: str, before: int | None) -> Result:
    if data is None:
        return Result(False, f"{name} does not exist: `invoke deploy` creates it")
    state = data.get("State") or {}
    problems = []
    if state.get("OOMKilled"):
        problems.append("was killed for using more memory than its limit (OOM): raise "
                        "`limits.memory` of the service, or find what grows")
    if state.get("Restarting") or (before is not None and
                                   int(data.get("RestartCount") or 0) > before):
        problems.append(f"is restarting in a loop ({data.get('RestartCount')} restarts): "
                        "`invoke logs --service ...` says why it exits")
    elif state.get("Status") != "running":
        problems.append(f"is {state.get('Status')} (exit {state.get('ExitCode')}): "
                        "`invoke logs`, then `invoke deploy`")
    health = (state.get("Health") or {}).get("Status")
    if health == "unhealthy":
        log = (state.get("Health") or {}).get("Log") or [{}]
        last = str(log[-1].get("Output", "")).strip()[-300:]
        problems.append("is unhealthy: its health check fails"
                        + (f" ({last})" if last else ""))
    if not problems:
        return Result(True)
    return Result(False, f"{name} " + "; ".join(problems))


def memory(api: DockerAPI, config: Mapping[str, Any],
           declared: Mapping[str, str]) -> dict[str, Result]:
    """Each container against its declared limit (`percent` of it), and the host's
    available memory against the declared reserve."""
    percent = float(config.get("percent", 90))
    found = {}
    for service, limit in sorted(config.get("limits", {}).items()):
        name = declared.get(service, service)
        used = memory_used(api.stats(name)) if api.inspect(name) else None
        if used is None:
            continue
        share = 100.0 * used / int(limit) if int(limit) else 0.0
        found[f"memory {service}"] = Result(True) if share < percent else Result(
            False, f"{name} uses {_mib(used)} of its {_mib(int(limit))} limit "
                   f"({share:.0f}% >= {percent:.0f}%): it is killed at the limit. Raise "
                   f"`limits.memory` of {service} (the host has room: `invoke status`) or "
                   f"find what grows.")
    reserve = int(config.get("reserve", 0))
    available = host_available()
    if reserve and available is not None:
        found["memory host"] = Result(True) if available >= reserve else Result(
            False, f"the host has {_mib(available)} available, less than the "
                   f"{_mib(reserve)} the declaration keeps for it (memory_reserve): "
                   f"something outside the stack uses memory, or the limits are too high.")
    return found


def host_available(meminfo: str = "/proc/meminfo") -> int | None:
    try:
        with open(meminfo) as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _restart_count(data: Mapping[str, Any]) -> int:
    return int(data.get("RestartCount") or 0)


def _mib(value: int) -> str:
    return f"{value / (1 << 20):.0f} MiB"
