"""The sites of the stack's proxies, from their nginx config in the checkout: each
`server` block's names and whether it includes the maintenance page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...declaration.model import Bind, Service, Stack
from ...planning.maintenance import Server, include_line, includes_page, servers


@dataclass(frozen=True)
class Sites:
    servers: list[Server]  # every server block of the proxies' config
    covered: set[str]  # the names whose block includes the maintenance page
    target: str  # where the proxy reads pojemnik's files (Upstreams.target)
    any_page: bool = False  # some block includes the page (also a catch-all `_` one)

    def known(self) -> list[str]:
        return sorted({n for s in self.servers for n in s.names})

    def missing(self, names: tuple[str, ...]) -> list[str]:
        """A line per named site (all when empty) whose block lacks the include."""
        found = []
        for server in self.servers:
            wanted = [n for n in server.names if not names or n in names]
            if wanted and not set(wanted) <= self.covered:
                found.append(f"{server.file}: the server block of {', '.join(wanted)} does "
                             f"not include the maintenance page; add `"
                             f"{include_line(self.target)}` inside it")
        return found


def read_sites(stack: Stack) -> Sites:
    proxies = [s for s in stack.services if s.upstreams is not None]
    found: list[Server] = []
    covered: set[str] = set()
    any_page = False
    target = proxies[0].upstreams.target if proxies and proxies[0].upstreams else ""
    for proxy in proxies:
        assert proxy.upstreams is not None
        texts = _config_files(stack, proxy)
        for repo_path, text in texts.values():
            for server in servers(repo_path, text):
                found.append(server)
                if includes_page(server, proxy.upstreams.target,
                                 {p: t for p, (_, t) in texts.items()}):
                    covered.update(server.names)
                    any_page = True
    return Sites(found, covered, target, any_page)


def _config_files(stack: Stack, proxy: Service) -> dict[str, tuple[str, str]]:
    """The proxy's bind-mounted nginx files: the path the proxy sees -> (the repository
    path, its text)."""
    files = {}
    for mount in proxy.mounts:
        if not isinstance(mount, Bind):
            continue
        source = Path(mount.source) if Path(mount.source).is_absolute() else \
            stack.root / mount.source
        found = sorted(source.rglob("*.conf")) if source.is_dir() else \
            [source] if source.is_file() and source.suffix == ".conf" else []
        for path in found:
            inside = mount.target if path == source else \
                f"{mount.target.rstrip('/')}/{path.relative_to(source).as_posix()}"
            shown = f"{mount.source.rstrip('/')}/{path.relative_to(source).as_posix()}" \
                if path != source else mount.source
            files[inside] = (shown, path.read_text(errors="replace"))
    return files
