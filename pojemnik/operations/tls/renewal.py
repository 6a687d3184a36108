"""The server's own renewal (issue 18, item 3): one daily task of the server's agent.

The agent is stdlib only, so the renewal is a list of agent steps, docker CLI commands:
the one-shot lego container (the same spec as a deploy's order, `planning.tls.order_spec`,
run as `acme-order renew DAYS`: no CA is contacted while the installed certificate is
for exactly the declared names and valid for more than `renew_days`), then in the proxy
`nginx -t` and the graceful reload (only when a new certificate was installed; a refused
one is replaced by the previous pair), then the agent's check that the proxy *serves* the
installed certificate for every name (a TLS handshake with SNI on the published port).
A failure fails the run: the agent records it and backs off (an hour, doubling to a day).

The task holds the project's deploy lock, so a deploy and a renewal never interleave.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from importlib import resources
from typing import Any

from ...agent.run import TASK_LABEL
from ...declaration.model import Stack
from ...declaration.tls import Acme
from ...planning.spec import ContainerSpec, volume_labels
from ...planning.tls import TLS_DIR, order_spec
from ._order import ca_pem

TASK = "tls-renew"
TIMEOUT = 900  # seconds: lego's own retries end well within it
BACKOFF = {"first": 3600, "max": 86400}
HTTPS = 8443  # the proxy's HTTPS port inside its container
# Run in the proxy after the order: install only what the order left ("renewed").
INSTALL = """set -u
cd "$1"
if [ ! -e renewed ]; then echo "tls: no new certificate: nothing to reload"; exit 0; fi
if ! out=$(nginx -t 2>&1); then
    [ -s tls.key.prev ] && [ -s tls.crt.prev ] && mv -f tls.key.prev tls.key \\
        && mv -f tls.crt.prev tls.crt
    rm -f renewed
    echo "tls: nginx refused the new certificate (the previous one is back): $out" >&2
    exit 1
fi
proxy-reload || { echo "tls: nginx did not reload with the new certificate" >&2; exit 1; }
rm -f renewed
echo "tls: reloaded with the new certificate, $(openssl x509 -in tls.crt -noout -serial)"
"""
REMOVE = 'docker rm -f "$1" >/dev/null 2>&1; exit 0'


def agent_tasks(stack: Stack) -> dict[str, dict[str, Any]]:
    """The stack's contribution to the server's agent: `tls-renew`, when names are ordered."""
    acme = stack.tls
    if acme is None or not acme.ordered():
        return {}
    return {TASK: {"steps": steps(stack, acme), "timeout": TIMEOUT,
                   "schedule": schedule(stack.project), "backoff": dict(BACKOFF),
                   "lock": True}}


def steps(stack: Stack, acme: Acme) -> list[dict[str, Any]]:
    order = order_spec(stack, acme, ca_pem(stack, acme))
    # The agent removes what is left of a run (killed at its timeout) by this label.
    spec = replace(order, labels={**order.labels, TASK_LABEL: f"{stack.project}/{TASK}"})
    proxy = stack.container_name(acme.proxy)
    state = stack.volume_name(acme.state)
    return [
        {"argv": ["sh", "-c", REMOVE, "remove", spec.name]},  # one a killed deploy left
        {"argv": ["docker", "volume", "create",
                  *_flags("--label", volume_labels(stack, acme.state)), state]},
        # The environment's values go through the step's env, not the command line.
        {"argv": run_argv(spec, ["renew", str(acme.renew_days)]),
         "env": dict(spec.environment)},
        {"argv": ["docker", "exec", proxy, "sh", "-c", INSTALL, "install", TLS_DIR]},
        {"argv": ["python3", "-c", served_check_source(), proxy, *published(stack, acme),
                  *acme.ordered()]},
    ]


def schedule(project: str) -> str:
    """Daily at a time of its own (5-field cron): servers do not all ask the CA at
    midnight, and a project keeps its time from one install to the next."""
    spread = zlib.crc32(project.encode()) % (24 * 60)
    return f"{spread % 60} {spread // 60} * * *"


def published(stack: Stack, acme: Acme) -> list[str]:
    """Where the agent on the host reaches the proxy's HTTPS: its published address."""
    proxy = next((s for s in stack.services if s.name == acme.proxy), None)
    port = next((p for p in proxy.ports if p.container == HTTPS), None) if proxy else None
    if port is None:
        return ["127.0.0.1", "443"]
    address = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(port.address,
                                                                       port.address)
    return [address, str(port.host)]


def run_argv(spec: ContainerSpec, command: list[str]) -> list[str]:
    """`docker run` for a one-shot spec: the same hardening, mounts and network as the
    engine's container, removed when it ends, its output the step's."""
    argv = ["docker", "run", "--rm", "--name", spec.name, *_flags("--label", spec.labels)]
    argv += [flag for name in sorted(spec.environment) for flag in ("--env", name)]
    for mount in spec.mounts:
        argv += ["--mount", f"type={mount.type},source={mount.source},target={mount.target}"
                 + (",readonly" if mount.read_only else "")]
    for path, options in spec.tmpfs.items():
        argv += ["--tmpfs", f"{path}:{options}"]
    for attachment in spec.networks[:1]:
        argv += ["--network", attachment.network]
    argv += ["--read-only"] if spec.read_only else []
    argv += [flag for cap in spec.cap_drop for flag in ("--cap-drop", cap)]
    argv += [flag for option in spec.security_opt for flag in ("--security-opt", option)]
    argv += ["--memory", spec.limits.memory, "--memory-swap", str(spec.memory_swap),
             "--cpus", str(spec.limits.cpus), "--pids-limit", str(spec.limits.pids),
             "--log-driver", spec.logging.driver,
             *_flags("--log-opt", spec.logging.options), spec.image, *command]
    return argv


def served_check_source() -> str:
    """The agent's served-certificate check (stdlib `ssl`), run by the server's python3."""
    return (resources.files("pojemnik.agent") / "served.py").read_text()


def _flags(flag: str, values: dict[str, str]) -> list[str]:
    return [item for key, value in sorted(values.items()) for item in (flag, f"{key}={value}")]
