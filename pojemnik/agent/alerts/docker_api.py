"""The few Engine API calls the checks make, over the engine's unix socket (`wire`: no
Docker SDK, no `docker` process per call): inspect a container, one stats sample, `info`,
a file out of a container (its archive). Read only: nothing here changes the engine."""

from __future__ import annotations

import json
from typing import Any

from . import wire

SOCKET = "/var/run/docker.sock"
API = "/v1.41"  # Docker 20.10 and later
TIMEOUT = 20.0


class EngineError(Exception):
    pass


class DockerAPI:
    def __init__(self, path: str = SOCKET, timeout: float = TIMEOUT) -> None:
        self.path, self.connect = path, wire.unix(path, timeout)

    def request(self, url: str, limit: int = 4 << 20) -> tuple[int, bytes]:
        try:
            status, _, body = wire.get(self.connect, API + url, "docker", limit)
        except OSError as error:
            raise EngineError(f"the engine at {self.path} did not answer: {error}") from error
        return status, body

    def get(self, url: str) -> Any:
        """The JSON answer; None for a 404 (no such container)."""
        status, body = self.request(url)
        if status == 404:
            return None
        if status >= 400:
            raise EngineError(f"GET {url}: {status} {body[:200].decode(errors='replace')}")
        return json.loads(body)

    def inspect(self, container: str) -> dict[str, Any] | None:
        found = self.get(f"/containers/{quote(container)}/json")
        return found if isinstance(found, dict) else None

    def stats(self, container: str) -> dict[str, Any]:
        found = self.get(f"/containers/{quote(container)}/stats?stream=false&one-shot=true")
        return found if isinstance(found, dict) else {}

    def info(self) -> dict[str, Any]:
        found = self.get("/info")
        return found if isinstance(found, dict) else {}

    def read_file(self, container: str, path: str, limit: int = 1 << 20) -> bytes | None:
        """A file in the container (or a volume it mounts), None if it is not there."""
        status, body = self.request(
            f"/containers/{quote(container)}/archive?path={quote(path)}", limit)
        if status == 404:
            return None
        if status >= 400:
            raise EngineError(f"reading {path} in {container}: {status}")
        return first_file(body)


def first_file(archive: bytes) -> bytes | None:
    """The first regular file's bytes in a tar archive (the engine's archive of a path:
    ustar headers, maybe a PAX header first). Not `tarfile`: it loads bz2 and lzma."""
    at = 0
    while at + 512 <= len(archive):
        header = archive[at:at + 512]
        if not header.strip(b"\0"):
            return None
        size = int(header[124:136].strip(b"\0 ") or b"0", 8)
        kind = header[156:157]
        start = at + 512
        if kind in (b"0", b"\0"):
            return archive[start:start + size]
        at = start + (size + 511) // 512 * 512
    return None


def quote(text: str) -> str:
    """A path or name as one URL query value / path segment."""
    return "".join(c if c.isalnum() or c in "-._~" else
                   "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def memory_used(stats: dict[str, Any]) -> int | None:
    """Usage less the reclaimable page cache, as `docker stats` shows it (cgroup v1, v2)."""
    memory = stats.get("memory_stats") or {}
    if "usage" not in memory:
        return None
    detail = memory.get("stats") or {}
    cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    return max(0, int(memory["usage"]) - int(cache))
