"""What a service mounts: a repository path, a named volume, a tmpfs, a secret's file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bind:
    """A host directory or file (relative to the repository) mounted into the container.

    Read-only unless said otherwise: config and sites are edited on the host.
    """

    source: str
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class VolumeMount:
    volume: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class Tmpfs:
    """A writable in-memory directory, for software that must write under a read-only root."""

    target: str
    size: str = "16m"
    mode: str = "1777"


@dataclass(frozen=True)
class SecretMount:
    secret: str
    target: str | None = None

    @property
    def path(self) -> str:
        return self.target or f"/run/secrets/{self.secret}"


Mount = Bind | VolumeMount | Tmpfs | SecretMount
