"""The server's firewall, declared with the stack: default-deny, Docker-aware, applied over
SSH without locking anyone out.

`model` (the declaration), `validate` and `render` are pure; `server` talks to the host;
`tasks` is the `firewall` task collection (plan, apply, status, rollback).
"""

from .model import Firewall

__all__ = ["Firewall"]
