"""pojemnik: a small server's infrastructure as Docker containers, declared once.

declaration -> validate -> observe -> plan -> apply. This module re-exports the
declaration types; everything that touches Docker is imported only when used.
"""

from .declaration.alerts import Alerts
from .declaration.backup import Backup, Dump, Postgres, Retention
from .declaration.firewall import Firewall
from .declaration.jobs import Job
from .declaration.model import (
    Bind,
    Healthcheck,
    Image,
    Limits,
    Logs,
    Network,
    Port,
    Reload,
    Secret,
    SecretMount,
    Service,
    Stack,
    Started,
    Tmpfs,
    Volume,
    VolumeMount,
)
from .declaration.policy import StartFirst, StopFirst, Upstreams
from .declaration.problems import InvalidStack, Problem
from .declaration.settings import Settings
from .declaration.tls import Acme
from .declaration.units import fixed_address
from .errors import DockerError, HostCommandError, OperationError, PojemnikError, SSHError

__all__ = [
    "Acme",
    "Alerts",
    "Backup",
    "Bind",
    "DockerError",
    "Dump",
    "Firewall",
    "Healthcheck",
    "HostCommandError",
    "Image",
    "InvalidStack",
    "Job",
    "Limits",
    "Logs",
    "Network",
    "OperationError",
    "PojemnikError",
    "Port",
    "Postgres",
    "Problem",
    "Reload",
    "Retention",
    "SSHError",
    "Secret",
    "SecretMount",
    "Service",
    "Settings",
    "Stack",
    "StartFirst",
    "Started",
    "StopFirst",
    "Tmpfs",
    "Upstreams",
    "Volume",
    "VolumeMount",
    "fixed_address",
]
