"""What can go wrong, by where it went wrong: each error's message is meant for people.

The task front turns any of these into one clear line and a non-zero exit; a traceback
is a bug.
"""

from __future__ import annotations


class PojemnikError(Exception):
    """A failure whose message says what failed and what to do about it."""


class DockerError(PojemnikError):
    """The Docker engine refused something, or could not be reached."""


class LockImageMissing(DockerError):
    """The image asked to run the project's lock is not on the engine (nothing was made)."""


class SSHError(PojemnikError):
    """Connecting to a host failed: unknown or changed host key, authentication, timeout,
    or a connection lost halfway."""


class HostCommandError(PojemnikError):
    """A command run on a host (tar, rsync, pg_dump, psql, apt-get) failed."""


class OperationError(PojemnikError):
    """An operation cannot go on: a verification failed, a host is unsuitable, an image
    is missing. Nothing unsafe was done; the message says how to continue."""


class Refused(OperationError):
    """A check refused a change before it took effect (a new container never got ready,
    a config check said no): what ran before keeps serving. `by` names the check,
    `kept` what kept serving, for the audit log."""

    def __init__(self, message: str, by: str, kept: str) -> None:
        super().__init__(message)
        self.by, self.kept = by, kept
