"""The server's own schedule of backups: the run as the agent's steps (docker CLI argv).

The same steps as `invoke backup.run` (`planning.backup.run_steps`), each run by `docker
exec` in a helper container the first step starts (the same container `backup.run` makes:
image, mounts, capabilities, no network for a local repository), labelled for the agent,
which removes it after the run.
The agent runs them under the project's deploy lock, never two at once, within the
declared `timeout` (the helper also ends by itself then); a pipe fails when any of its
stages fails (a dump that fails half-way), and the run stops there: no `seal`, so no
manifest, so nothing lists, restores or keeps that run as good. The repository password
and the SSH key reach restic as files mounted into the helper, never in argv or in the
agent's config.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ...agent.run import TASK_LABEL
from ...declaration.model import LABEL_NAME, Stack
from ...planning import backup as b
from ...planning.spec import ContainerSpec
from ._helper import helper_spec, image_spec

TASK = "backup"


def helper_name(stack: Stack) -> str:
    return f"{stack.project}-backup-scheduled"


def agent_tasks(stack: Stack) -> dict[str, dict[str, Any]]:
    """{"backup": task} when the stack declares a backup on one host; {} otherwise (a
    Swarm's is refused by validation)."""
    backup = stack.backup
    if backup is None or stack.target != "host":
        return {}
    name = helper_name(stack)
    spec = helper_spec(stack, backup, image_spec(stack).tag, b.parts(stack, backup), False)
    # The agent removes the task's labelled containers before and after each run (also
    # one killed at its timeout): the helper never outlives its run.
    spec = replace(spec, name=name, labels={**spec.labels, LABEL_NAME: name,
                                            TASK_LABEL: f"{stack.project}/{TASK}"})
    steps: list[dict[str, Any]] = [{"argv": run_argv(spec)}]
    for step in b.run_steps(stack, backup):
        if step.source is None:
            steps.append({"argv": ["docker", "exec", name, *step.helper]})
        else:
            service, command = step.source
            steps.append({"pipe": [["docker", "exec", stack.container_name(service),
                                    *command], ["docker", "exec", "-i", name, *step.helper]]})
    return {TASK: {"steps": steps, "timeout": backup.timeout, "schedule": backup.schedule,
                   "backoff": None, "lock": True}}


def run_argv(spec: ContainerSpec) -> list[str]:
    """`docker run -d --rm` of the helper: what `backup.run` creates through the SDK."""
    argv = ["docker", "run", "-d", "--rm", "--name", spec.name,
            "--network", spec.networks[0].network if spec.networks else "none"]
    for mount in spec.mounts:
        option = f"type={mount.type},source={mount.source},target={mount.target}"
        argv += ["--mount", option + (",readonly" if mount.read_only else "")]
    for target, options in sorted(spec.tmpfs.items()):
        argv += ["--tmpfs", f"{target}:{options}"]
    for key, value in sorted(spec.environment.items()):
        argv += ["--env", f"{key}={value}"]
    for key, value in sorted(spec.labels.items()):
        argv += ["--label", f"{key}={value}"]
    argv += [arg for cap in spec.cap_drop for arg in ("--cap-drop", cap)]
    argv += [arg for cap in spec.cap_add for arg in ("--cap-add", cap)]
    argv += [arg for option in spec.security_opt for arg in ("--security-opt", option)]
    limits = spec.limits
    argv += ["--user", spec.user or "0:0", "--memory", limits.memory or "512m",
             "--memory-swap", str(spec.memory_swap or 0), "--cpus", str(limits.cpus or 1),
             "--pids-limit", str(limits.pids or 200), spec.image, *(spec.command or [])]
    return argv
