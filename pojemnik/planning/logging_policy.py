"""Bounded logs: every container's log rotation, one policy read by the engine, the bash
rendering and the compose export alike (through `ContainerSpec.logging`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..declaration.model import Logs, Service, Stack

DRIVER = "json-file"  # what `docker logs` reads, rotated by max-size/max-file


def _default_options() -> dict[str, str]:
    return options_of(Logs())


@dataclass(frozen=True)
class LogSpec:
    driver: str = DRIVER
    options: dict[str, str] = field(default_factory=_default_options)


def options_of(logs: Logs) -> dict[str, str]:
    return {"max-size": logs.max_size, "max-file": str(logs.max_files)}


def log_spec(stack: Stack, service: Service) -> LogSpec:
    """The service's own rotation if declared, else the stack's."""
    return LogSpec(DRIVER, options_of(service.logs or stack.logs))
