"""pojemnik: a small server's infrastructure as Docker containers, declared once.

declaration -> validate -> observe -> plan -> apply. This module re-exports the
declaration types; everything that touches Docker is imported only when used.
"""

from .firewall.model import Firewall
from .model import (
    Bind,
    Healthcheck,
    Image,
    Limits,
    Network,
    Port,
    Reload,
    Secret,
    SecretMount,
    Service,
    Stack,
    Tmpfs,
    Volume,
    VolumeMount,
)
from .problems import InvalidStack, Problem
from .settings import Settings

__all__ = [
    "Bind",
    "Firewall",
    "Healthcheck",
    "Image",
    "InvalidStack",
    "Limits",
    "Network",
    "Port",
    "Problem",
    "Reload",
    "Secret",
    "SecretMount",
    "Service",
    "Settings",
    "Stack",
    "Tmpfs",
    "Volume",
    "VolumeMount",
]
