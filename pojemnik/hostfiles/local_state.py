"""What pojemnik applied that the engine cannot record: a container's labels are fixed at
creation, so the config a running container was reloaded with is kept here, by container id.

A small JSON file under `.pojemnik/` (git-ignored). Losing it costs one extra reload.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LocalState:
    path: Path
    applied_config: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> LocalState:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls(path)
        applied = data.get("applied_config") if isinstance(data, dict) else None
        return cls(path, dict(applied) if isinstance(applied, dict) else {})

    def record_config(self, container_id: str, config_hash: str) -> None:
        self.applied_config[container_id] = config_hash
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename: an interrupted deploy never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-")
        with os.fdopen(fd, "w") as handle:
            json.dump({"applied_config": self.applied_config}, handle, indent=2)
        os.replace(tmp, self.path)
