"""Maintenance mode: the proxy answers sites with 503, `Retry-After` and a plain page,
except for allowed addresses. Pure: the state, its files, and the checks of its input.

The state lives on the engine's host, in the directory pojemnik writes the proxies'
upstream files to (mounted read-only into every proxy that declares `Upstreams`), so a
proxy made by a later deploy starts in the same mode:

- `_maintenance.conf`, included at the `http` level by the proxy's existing
  `include <target>/*.conf;`: which requests get the page (`$pojemnik_maintenance`);
- `maintenance/site.conf`, included by each site's `server` block
  (`include <target>/maintenance/*.conf;`): the page itself;
- `maintenance.json`: what was asked, shown by `status`.

Off, both files hold a comment only, so a site's include line costs nothing. The
proxy's own loopback always passes (its health check asks itself).
"""

from __future__ import annotations

import difflib
import html
import ipaddress
import json
import re
from dataclasses import asdict, dataclass, field

STATE_FILE = "maintenance.json"
HTTP_FILE = "_maintenance.conf"  # never a service's file: those start with [a-z0-9]
SITE_DIR = "maintenance"
SITE_FILE = "site.conf"
PAGE = "/.pojemnik-maintenance"
DEFAULT_MESSAGE = "This site is down for maintenance. Please try again in a few minutes."
DEFAULT_RETRY_AFTER = 300  # seconds
MESSAGE_LIMIT = 2000  # characters
LOOPBACK = ("127.0.0.0/8", "::1/128")  # the proxy's own health check
RELEASE = "release"  # `by` of the state a release command's maintenance wrote
ACME = "/.well-known/acme-challenge/"  # a CA's challenge passes: renewals keep working


@dataclass(frozen=True)
class Maintenance:
    on: bool = False
    sites: tuple[str, ...] = ()  # empty: every site that includes the page
    message: str = DEFAULT_MESSAGE
    allow: tuple[str, ...] = ()  # networks that pass through (CIDR)
    retry_after: int = DEFAULT_RETRY_AFTER
    since: str = ""  # ISO 8601, when it was turned on
    by: str = ""  # user@host, or "release" (a release command's, turned off after it)
    notes: tuple[str, ...] = field(default=(), compare=False)

    def describe(self) -> str:
        if not self.on:
            return "maintenance: off"
        sites = ", ".join(self.sites) if self.sites else "all sites"
        allowed = f"; passing through: {', '.join(self.allow)}" if self.allow else ""
        return f"maintenance: ON for {sites} since {self.since} (by {self.by}){allowed}"


def to_json(state: Maintenance) -> str:
    data = asdict(state)
    data.pop("notes")
    return json.dumps(data, indent=2) + "\n"


def from_json(text: str | None) -> Maintenance:
    """The recorded state; off when there is none (never turned on) or it is unreadable."""
    if not text:
        return Maintenance()
    try:
        data = json.loads(text)
        return Maintenance(on=bool(data["on"]), sites=tuple(data.get("sites", ())),
                           message=str(data.get("message", DEFAULT_MESSAGE)),
                           allow=tuple(data.get("allow", ())),
                           retry_after=int(data.get("retry_after", DEFAULT_RETRY_AFTER)),
                           since=str(data.get("since", "")), by=str(data.get("by", "")))
    except (ValueError, KeyError, TypeError):
        return Maintenance()


def files(state: Maintenance) -> dict[str, str]:
    """Path under the upstreams directory -> content."""
    return {HTTP_FILE: render_http(state), f"{SITE_DIR}/{SITE_FILE}": render_site(state),
            STATE_FILE: to_json(state)}


HEAD = "# written by pojemnik (invoke maintenance.on/off); do not edit\n"


def render_http(state: Maintenance) -> str:
    if not state.on:
        return HEAD + "# maintenance: off\n"
    sites = "".join(f"    {name} 1;\n" for name in state.sites)
    allowed = "".join(f"    {cidr} 1;\n" for cidr in (*LOOPBACK, *state.allow))
    return (HEAD +
            "geo $pojemnik_maintenance_allowed {\n    default 0;\n" + allowed + "}\n"
            "map $host $pojemnik_maintenance_site {\n    hostnames;\n"
            f"    default {0 if state.sites else 1};\n" + sites + "}\n"
            "map $uri $pojemnik_maintenance_path {\n    default 1;\n"
            f"    ~^{re.escape(ACME)} 0;\n}}\n"
            "map $pojemnik_maintenance_site$pojemnik_maintenance_allowed"
            "$pojemnik_maintenance_path $pojemnik_maintenance {\n"
            "    default 0;\n    101 1;\n}\n")


def render_site(state: Maintenance) -> str:
    if not state.on:
        return HEAD + "# maintenance: off\n"
    return (HEAD +
            f"if ($pojemnik_maintenance) {{\n    rewrite ^ {PAGE} last;\n}}\n"
            f"location = {PAGE} {{\n    internal;\n"
            '    default_type "text/html; charset=utf-8";\n'
            f"    add_header Retry-After {state.retry_after} always;\n"
            '    add_header Cache-Control "no-store" always;\n'
            '    add_header X-Content-Type-Options "nosniff" always;\n'
            f'    return 503 "{nginx_quoted(page(state.message))}";\n}}\n')


def page(message: str) -> str:
    text = html.escape(message, quote=True)
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<title>Down for maintenance</title></head>\n"
            f"<body><h1>Down for maintenance</h1>\n<p>{text}</p></body></html>\n")


def nginx_quoted(text: str) -> str:
    """Inside nginx's double quotes: `$` would start a variable, `\\` and `"` escape."""
    return (text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "&#36;")
            .replace("\n", "\\n"))


# --- checking what was asked ------------------------------------------------------------


def message_problem(message: str) -> str | None:
    if not message.strip():
        return "--message is empty: give the text the page shows, or leave it out"
    if len(message) > MESSAGE_LIMIT:
        return f"--message has {len(message)} characters; at most {MESSAGE_LIMIT}"
    if any(ord(c) < 32 and c not in "\n\t" for c in message):
        return "--message holds control characters; give plain text"
    return None


def normal_allow(cidrs: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """The networks as nginx's `geo` takes them, and a problem per one that is none."""
    found, problems = [], []
    for cidr in cidrs:
        try:
            found.append(str(ipaddress.ip_network(cidr.strip(), strict=False)))
        except ValueError:
            problems.append(f"--allow {cidr!r} is not an address or network; give one "
                            "such as 203.0.113.7 or 10.0.20.0/24")
    return tuple(dict.fromkeys(found)), problems


def chosen_sites(requested: list[str], known: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """The sites asked for (lower case, as nginx compares them), and a problem per one no
    server block of the proxy serves, with the nearest declared name."""
    problems, chosen = [], []
    for name in requested:
        site = name.strip().lower().rstrip(".")
        if site in known:
            chosen.append(site)
            continue
        near = difflib.get_close_matches(site, known, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        problems.append(f"no site {name!r} in the proxy's nginx config{hint} Declared: "
                        f"{', '.join(known) or 'none'}")
    return tuple(dict.fromkeys(chosen)), problems


# --- the proxy's config -----------------------------------------------------------------

SERVER_NAME = re.compile(r"\bserver_name\s+([^;]*);")
INCLUDE = re.compile(r"\binclude\s+([^;\s]+)\s*;")


@dataclass(frozen=True)
class Server:
    file: str  # where the block is (repository path)
    names: tuple[str, ...]  # its server_names a request's Host can be (no `_`, no regex)
    includes: tuple[str, ...]  # the paths it includes


def servers(file: str, text: str) -> list[Server]:
    """The `server { ... }` blocks of one nginx config file."""
    clean = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    found = []
    for match in re.finditer(r"\bserver\s*\{", clean):
        depth, end = 1, match.end()
        while depth and end < len(clean):
            depth += {"{": 1, "}": -1}.get(clean[end], 0)
            end += 1
        body = clean[match.end():end]
        names = [n.lower() for m in SERVER_NAME.findall(body) for n in m.split()]
        found.append(Server(file, tuple(n for n in names if n not in ("_", '""', "")
                                        and not n.startswith("~")),
                            tuple(INCLUDE.findall(body))))
    return found


def include_line(target: str) -> str:
    return f"include {target.rstrip('/')}/{SITE_DIR}/*.conf;"


def includes_page(server: Server, target: str, included: dict[str, str]) -> bool:
    """Whether the block includes the page, itself or in a file it includes (`included`:
    a proxy path -> that file's text)."""
    wanted = f"{target.rstrip('/')}/{SITE_DIR}/"
    for path in server.includes:
        if path.startswith(wanted):
            return True
        text = included.get(path, "")
        if any(p.startswith(wanted) for p in INCLUDE.findall(text)):
            return True
    return False
