"""The few Engine API calls the checks make, with `http.client` over the engine's unix
socket (no Docker SDK, no `docker` process per call): inspect a container, one stats
sample, `info`, a file out of a container (its archive), a container's health. Read only:
nothing here changes the engine."""

from __future__ import annotations

import http.client
import io
import json
import socket
import tarfile
from typing import Any
from urllib.parse import quote

SOCKET = "/var/run/docker.sock"
API = "/v1.41"  # Docker 20.10 and later
TIMEOUT = 20.0


class EngineError(Exception):
    pass


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class DockerAPI:
    def __init__(self, path: str = SOCKET, timeout: float = TIMEOUT) -> None:
        self.path, self.timeout = path, timeout

    def request(self, method: str, url: str, limit: int = 4 << 20) -> tuple[int, bytes]:
        connection = _Unix(self.path, self.timeout)
        try:
            connection.request(method, API + url, headers={"Host": "docker"})
            response = connection.getresponse()
            return response.status, response.read(limit)
        except OSError as error:
            raise EngineError(f"the engine at {self.path} did not answer: {error}") from error
        finally:
            connection.close()

    def get(self, url: str) -> Any:
        """The JSON answer; None for a 404 (no such container)."""
        status, body = self.request("GET", url)
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
            "GET", f"/containers/{quote(container)}/archive?path={quote(path)}", limit)
        if status == 404:
            return None
        if status >= 400:
            raise EngineError(f"reading {path} in {container}: {status}")
        with tarfile.open(fileobj=io.BytesIO(body)) as archive:
            for member in archive:
                if member.isfile():
                    handle = archive.extractfile(member)
                    return handle.read() if handle else None
        return None


def memory_used(stats: dict[str, Any]) -> int | None:
    """Usage less the reclaimable page cache, as `docker stats` shows it (cgroup v1, v2)."""
    memory = stats.get("memory_stats") or {}
    if "usage" not in memory:
        return None
    detail = memory.get("stats") or {}
    cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    return max(0, int(memory["usage"]) - int(cache))
