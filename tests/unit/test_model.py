"""What a remote deploy mirrors (config) and what it must never overwrite (data)."""

from __future__ import annotations

from pathlib import Path

from pojemnik import Bind, Service, Stack


def test_writable_binds_are_data_never_mirrored() -> None:
    stack = Stack("demo", Path("/repo"), services=[
        Service("web", "web", mounts=[Bind("config/nginx", "/etc/nginx"),
                                      Bind("www/uploads", "/srv/uploads", read_only=False)]),
        # Read-only here, writable above: still data.
        Service("cdn", "web", mounts=[Bind("www/uploads", "/srv/uploads"),
                                      Bind("www/site", "/srv/site")]),
    ])
    assert stack.config_paths() == ["config/nginx", "www/site"]
    assert stack.data_paths() == ["www/uploads"]
