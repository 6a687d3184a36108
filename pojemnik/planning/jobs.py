"""A scheduled job as the server agent runs it: the `docker` commands of a one-off
container of its service (`planning.oneoff`: the service's image, networks, environment,
secrets and mounts; no published port, fixed address or DNS name), created, connected,
started attached (its exit code is the run's), left for the agent to remove.

The environment's values are not in the commands (a host's process list shows those):
`docker create --env NAME` reads each from the agent step's own environment, which the
agent's root-only config holds (but for names the docker command reads itself, PATH,
HOME, DOCKER_*: those are given in its arguments). Pure; call only on a validated stack.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..agent.run import TASK_LABEL
from ..declaration.jobs import Job
from ..declaration.model import Stack
from ..declaration.units import memory_bytes
from .oneoff import oneoff_spec
from .spec import ContainerSpec

# Names the docker command itself reads: their values go in its arguments instead.
COMMAND_ENV = re.compile(r"PATH|HOME|USER|SHELL|TMPDIR|PWD|LANG|LC_\w+|DOCKER_\w+|LD_\w+")
TASK_PREFIX = "job-"  # the agent's task of job NAME: job-NAME (apart from other capabilities')
LABEL_JOB = "pojemnik.job"


def task_name(job: str) -> str:
    return f"{TASK_PREFIX}{job}"


def job_container(stack: Stack, job: Job) -> str:
    """`<project>-<service>-job-<job>`: fixed, so a leftover is found (never two at once)."""
    return f"{stack.container_name(job.service)}-job-{job.name}"


def job_spec(stack: Stack, job: Job) -> ContainerSpec:
    spec = oneoff_spec(stack, job.service, job.command, token="x")
    labels = {**spec.labels, LABEL_JOB: job.name,
              TASK_LABEL: f"{stack.project}/{task_name(job.name)}"}
    return replace(spec, name=job_container(stack, job), labels=labels)


def create_argv(spec: ContainerSpec) -> list[str]:
    """`docker container create` for the spec, as the engine boundary creates one-offs
    (engine/oneoff.py): every limit and hardening option, on its first network."""
    argv = ["docker", "container", "create", "--name", spec.name, "--no-healthcheck"]
    if spec.networks:
        argv += ["--network", spec.networks[0].network]
    else:
        argv += ["--network", "none"]
    for mount in spec.mounts:
        option = f"type={mount.type},source={mount.source},target={mount.target}"
        argv += ["--mount", option + (",readonly" if mount.read_only else "")]
    for target, options in sorted(spec.tmpfs.items()):
        argv += ["--tmpfs", f"{target}:{options}"]
    for name, value in sorted(spec.environment.items()):
        argv += ["--env", f"{name}={value}" if COMMAND_ENV.fullmatch(name) else name]
    for key, value in sorted(spec.labels.items()):
        argv += ["--label", f"{key}={value}"]
    if spec.user:
        argv += ["--user", spec.user]
    if spec.read_only:
        argv.append("--read-only")
    argv += [*_each("--cap-drop", spec.cap_drop), *_each("--cap-add", spec.cap_add),
             *_each("--security-opt", spec.security_opt)]
    limits = spec.limits
    argv += ["--memory", str(memory_bytes(limits.memory)), "--memory-swap",
             str(spec.memory_swap), "--cpus", str(limits.cpus), "--pids-limit",
             str(limits.pids), "--restart", "no", "--log-driver", spec.logging.driver]
    argv += _each("--log-opt", [f"{k}={v}" for k, v in sorted(spec.logging.options.items())])
    if spec.stop_signal:
        argv += ["--stop-signal", spec.stop_signal]
    return [*argv, spec.image, *(spec.command or [])]


def _each(flag: str, values: list[str]) -> list[str]:
    return [word for value in values for word in (flag, value)]


def agent_task(stack: Stack, job: Job) -> dict[str, Any]:
    """The agent's task for the job: its steps, timeout, schedule; under the deploy lock,
    no backoff (a job that fails is tried again at its next time)."""
    spec = job_spec(stack, job)
    env = {k: v for k, v in sorted(spec.environment.items()) if not COMMAND_ENV.fullmatch(k)}
    steps: list[dict[str, Any]] = [{"argv": create_argv(spec), "env": env}]
    steps += [{"argv": ["docker", "network", "connect", a.network, spec.name]}
              for a in spec.networks[1:]]
    steps.append({"argv": ["docker", "container", "start", "--attach", spec.name]})
    return {"steps": steps, "timeout": float(job.timeout), "schedule": job.schedule,
            "backoff": None, "lock": True, "lock_wait": float(job.lock_wait)}
