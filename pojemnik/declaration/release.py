"""A release command that needs the sites in maintenance while it runs.

`Service(release="python manage.py migrate --noinput")` runs the command before the new
version takes traffic, while the old one keeps serving. A migration the old code cannot
run beside (a dropped column, a long table rewrite) declares
`release=Release("...", maintenance=True)`: the proxy answers every site with its
maintenance page (503, `Retry-After`) during the command, and serves again after it,
also when it failed. A `Release` is the command itself (a `str`), so everything that
reads `Service.release` as a command keeps doing so.
"""

from __future__ import annotations


class Release(str):
    """`Release("python manage.py migrate --noinput", maintenance=True)`."""

    maintenance: bool

    def __new__(cls, command: str, maintenance: bool = False) -> Release:
        made = super().__new__(cls, command)
        made.maintenance = maintenance
        return made

    def __repr__(self) -> str:
        return f"Release({str.__repr__(self)}, maintenance={self.maintenance!r})"

    def __reduce__(self) -> tuple[type, tuple[str, bool]]:
        return (Release, (str(self), self.maintenance))


def needs_maintenance(release: object) -> bool:
    """Whether a service's `release` asks for the sites in maintenance while it runs."""
    return isinstance(release, Release) and bool(release.maintenance)
