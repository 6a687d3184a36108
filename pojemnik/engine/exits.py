"""When a project's containers exit, as the engine says it: its `die` event, sent once
the container's processes have ended, some tenths of a second before `docker stop`
returns (the engine then releases the container's network endpoints and mounts first).

`down` stops a wave once the wave before it has exited: by then that wave serves no
request any more (nginx's graceful quit ends after its last one), so the next one may
stop, while the engine still tidies up the first.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker

from ..declaration.model import LABEL_PROJECT


class ExitWatch:
    """The names of the project's containers that exited since the watch began."""

    def __init__(self, api: docker.APIClient, project: str) -> None:
        self.exited: set[str] = set()
        self.changed = threading.Condition()
        self.stream: Any = None
        # Returns once the engine has subscribed: no exit after it is missed.
        with contextlib.suppress(docker.errors.APIError, OSError):
            self.stream = api.events(decode=True, filters={
                "type": "container", "event": ["die"], "label": f"{LABEL_PROJECT}={project}"})
            threading.Thread(target=self._read, name=f"{project} exits", daemon=True).start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):  # the stream closed: the watch is over
            for event in self.stream:
                name = (event.get("Actor") or {}).get("Attributes", {}).get("name")
                with self.changed:
                    self.exited.add(str(name))
                    self.changed.notify_all()

    def wait(self, name: str, timeout: float) -> bool:
        """True once `name` has exited; False after `timeout` seconds without that (or
        when the engine gave no events: its `stop` returning is the sign then)."""
        with self.changed:
            return self.changed.wait_for(lambda: name in self.exited, timeout)

    def close(self) -> None:
        if self.stream is not None:
            with contextlib.suppress(Exception):
                self.stream.close()


def remove_networks(api: docker.APIClient, project: str) -> list[str]:
    """The project's networks removed, all at once; their names."""
    found = api.networks(filters={"label": f"{LABEL_PROJECT}={project}"})
    with ThreadPoolExecutor(max_workers=max(1, min(len(found), 4))) as pool:
        for future in [pool.submit(api.remove_network, n["Id"]) for n in found]:
            future.result()
    return [n["Name"] for n in found]
