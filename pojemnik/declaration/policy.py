"""How a service is replaced, stopped, and found by a proxy: plain data.

- `StopFirst` (the default): the old container stops before the new one starts, so a
  service with state (a database) never runs twice on the same data. `before` runs in
  the old container first (a dump); if it fails, the old container keeps running.
- `StartFirst`: a stateless web service. The new container starts beside the old one on
  `standby` (a second declared address per network), and replaces it only once it is
  ready; the proxy's upstream is switched to it with a graceful reload.
- `Upstreams` (on a proxy): pojemnik writes one file per upstream service,
  `<service>.conf` = `upstream <service> { server <address>:<port>; }`, into a directory
  it manages, mounted read-only at `target`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StopFirst:
    before: Sequence[str] | None = None  # run in the old container before it stops


@dataclass(frozen=True)
class StartFirst:
    standby: Mapping[str, int | str] = field(default_factory=dict)  # network -> address


UpdatePolicy = StopFirst | StartFirst


@dataclass(frozen=True)
class Upstreams:
    target: str  # where the proxy reads the files, e.g. /etc/pojemnik/upstreams
    ports: Mapping[str, int] = field(default_factory=dict)  # service -> its port
