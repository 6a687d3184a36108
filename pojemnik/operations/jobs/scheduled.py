"""The jobs' tasks for the server agent (registered in `operations/server/agent.py`)."""

from __future__ import annotations

from typing import Any

from ...declaration.model import Stack
from ...planning.jobs import agent_task, task_name


def agent_tasks(stack: Stack) -> dict[str, dict[str, Any]]:
    """`job-<name>` for each declared job: a one-off container of its service."""
    return {task_name(job.name): agent_task(stack, job) for job in stack.jobs}
