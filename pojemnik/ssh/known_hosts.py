"""The known_hosts file, read the way OpenSSH writes it, and trust on first use by appending.

paramiko's own loader cannot parse marker lines (`@cert-authority`, `@revoked`) and its
AutoAddPolicy rewrites the whole file (dropping comments and markers). Here:

- `@cert-authority` lines are skipped: CA-signed host keys are not supported, a host's
  key must be listed plainly;
- `@revoked` keys are never accepted, for any host, even when also listed plainly;
- a newly trusted key is appended as one line; nothing else in the file changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry


class UnknownHostKey(paramiko.SSHException):
    """The host's key is not in known_hosts (and trusting new hosts was not asked for)."""

    def __init__(self, hostname: str, key: paramiko.PKey) -> None:
        super().__init__(f"Server {hostname!r} not found in known_hosts")
        self.hostname, self.key = hostname, key


class RevokedHostKey(paramiko.SSHException):
    """The host presented a key that known_hosts marks `@revoked`."""

    def __init__(self, hostname: str, key: paramiko.PKey) -> None:
        super().__init__(f"Server {hostname!r} presented a revoked host key")
        self.hostname, self.key = hostname, key


def key_id(key: paramiko.PKey) -> tuple[str, str]:
    return key.get_name(), key.get_base64()


@dataclass
class KnownHosts:
    path: Path
    entries: list[tuple[str, paramiko.PKey]] = field(default_factory=list)  # (name, key)
    revoked: set[tuple[str, str]] = field(default_factory=set)  # (type, base64)
    skipped: list[int] = field(default_factory=list)  # line numbers not understood

    def is_revoked(self, key: paramiko.PKey) -> bool:
        return key_id(key) in self.revoked


def _entry(line: str, number: int) -> HostKeyEntry | None:
    try:
        return HostKeyEntry.from_line(line, number)
    except (paramiko.SSHException, ValueError):
        return None


def parse(text: str, path: Path) -> KnownHosts:
    known = KnownHosts(path)
    plain: list[HostKeyEntry] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        marker = ""
        if line.startswith("@"):
            marker, _, line = line.partition(" ")
            line = line.strip()
        if marker == "@cert-authority":
            continue  # not supported: list the host's key plainly
        entry = _entry(re.sub(r"\s+", " ", line), number)
        if entry is None or marker not in ("", "@revoked"):
            known.skipped.append(number)
        elif marker == "@revoked":
            known.revoked.add(key_id(entry.key))
        else:
            plain.append(entry)
    for entry in plain:
        # A revoked key is never "known": the policy then sees it and refuses it.
        if key_id(entry.key) not in known.revoked:
            known.entries += [(name, entry.key) for name in entry.hostnames]
    return known


def load(path: Path) -> KnownHosts:
    return parse(path.read_text(encoding="utf-8", errors="replace") if path.exists() else "",
                 path)


def append(path: Path, hostname: str, key: paramiko.PKey) -> None:
    """Add one line for a newly trusted key; the rest of the file stays as it was."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    existing = path.read_bytes() if path.exists() else b""
    line = f"{hostname} {key.get_name()} {key.get_base64()}\n".encode()
    with path.open("ab") as out:
        if existing and not existing.endswith(b"\n"):
            out.write(b"\n")
        out.write(line)
    if not existing:
        path.chmod(0o600)


class StrictPolicy(paramiko.MissingHostKeyPolicy):
    """What to do with a key known_hosts does not list: refuse it, or (trust on first use)
    append it; a revoked key is refused either way."""

    def __init__(self, known: KnownHosts, trust_new: bool) -> None:
        self.known, self.trust_new = known, trust_new

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str,
                         key: paramiko.PKey) -> None:
        if self.known.is_revoked(key):
            raise RevokedHostKey(hostname, key)
        if not self.trust_new:
            raise UnknownHostKey(hostname, key)
        append(self.known.path, hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)


def install(client: paramiko.SSHClient, known: KnownHosts, trust_new: bool) -> None:
    """Check this client's host keys against `known` (never saving the whole file)."""
    keys = client.get_host_keys()
    keys.clear()
    for name, key in known.entries:
        keys.add(name, key.get_name(), key)
    client.set_missing_host_key_policy(StrictPolicy(known, trust_new))
