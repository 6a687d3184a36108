"""Check the declared certificates (`Stack.tls`) before anything is observed or changed.

Pure apart from reading the proxy's nginx config in the repository: a name no site
serves would fail its HTTP-01 challenge at the CA, so it is refused here instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..model import Bind, Stack, VolumeMount
from ..swarm import SWARM
from ..tls import Acme

Add = Callable[..., None]  # field, message, fix, value=None
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+$")
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
SERVER_NAME = re.compile(r"^\s*server_name\s+([^;]*);", re.MULTILINE)


def check_tls(stack: Stack, add: Add) -> None:
    acme = stack.tls
    if acme is None:
        return
    for i, name in enumerate(acme.names):
        _check_name(f"tls.names[{i}]", name, add)
    if acme.email and not EMAIL.match(acme.email):
        add("tls.email", f"{acme.email!r} is not an email address",
            "set ACME_EMAIL to the address the CA writes to (you@example.org)", acme.email)
    if not acme.directory.startswith("https://"):
        add("tls.directory", f"the ACME directory {acme.directory!r} is not an https:// URL",
            "set ACME_DIRECTORY to the CA's directory URL (https://...), e.g. Let's "
            "Encrypt's staging one, https://acme-staging-v02.api.letsencrypt.org/directory",
            acme.directory)
    if acme.ca_certificates and not _path(stack, acme.ca_certificates).is_file():
        add("tls.ca_certificates", f"no file {acme.ca_certificates}",
            "set ACME_CA_CERTIFICATES to a PEM file, or leave it empty for the system's CAs",
            acme.ca_certificates)
    if acme.renew_days < 1:
        add("tls.renew_days", f"renew_days is {acme.renew_days}: a certificate would be "
            "renewed only once expired", "set ACME_RENEW_DAYS to 30 (Let's Encrypt's "
            "advice: renew with a third of the lifetime left)", acme.renew_days)
    if not acme.ordered():
        return
    if stack.target == SWARM:
        add("tls", "ACME certificates are not supported on the Swarm target yet",
            "order the certificate on the node running the proxy (e.g. certbot) and put it "
            "in the proxy's certificate volume, or deploy this stack with "
            "POJEMNIK_TARGET=host; leave ACME_EMAIL empty for the self-signed certificate")
        return
    _check_parts(stack, acme, add)
    served = served_names(stack, acme)
    for i, name in enumerate(acme.names):
        if name in acme.ordered() and served is not None and name.lower() not in served:
            add(f"tls.names[{i}]", f"{name} is on no site of the {acme.proxy} service "
                "(no server_name in its nginx config names it)",
                f"add a site for {name} in config/nginx/sites/, or remove it from the names",
                name)


def _check_name(field: str, name: str, add: Add) -> None:
    if name.startswith("*."):
        add(field, f"{name} is a wildcard: HTTP-01 (the challenge pojemnik answers) cannot "
            "validate wildcards", "list each name, or order the wildcard yourself over DNS-01",
            name)
        return
    labels = name.lower().rstrip(".").split(".")
    if len(labels) < 2 or not all(LABEL.match(label) for label in labels):
        add(field, f"{name!r} is not a domain name", "write a name such as www.example.org",
            name)


def _check_parts(stack: Stack, acme: Acme, add: Add) -> None:
    images = {i.name for i in stack.images}
    volumes = {v.name for v in stack.volumes}
    if acme.image not in images:
        add("tls.image", f"no image {acme.image!r} is declared (it runs the ACME client)",
            f'add Image("{acme.image}") to images (images/{acme.image}/Dockerfile)')
    for field in ("certificates", "webroot", "state"):
        if getattr(acme, field) not in volumes:
            add(f"tls.{field}", f"no volume {getattr(acme, field)!r} is declared",
                f'add Volume("{getattr(acme, field)}") to volumes')
    proxy = next((s for s in stack.services if s.name == acme.proxy), None)
    if proxy is None:
        add("tls.proxy", f"no service {acme.proxy!r} (it serves the certificate)",
            "name the service that runs nginx")
        return
    mounted = {m.volume for m in proxy.mounts if isinstance(m, VolumeMount)}
    for field in ("certificates", "webroot"):
        if getattr(acme, field) not in mounted:
            add(f"tls.{field}", f"the {acme.proxy} service does not mount the volume "
                f"{getattr(acme, field)!r}", f'add VolumeMount("{getattr(acme, field)}", ...) '
                f"to its mounts")


def served_names(stack: Stack, acme: Acme) -> set[str] | None:
    """The server_names of the proxy's nginx config (its bind on /etc/nginx); None when
    it has none in the repository (then the names cannot be checked here)."""
    proxy = next((s for s in stack.services if s.name == acme.proxy), None)
    source = next((m.source for m in proxy.mounts if isinstance(m, Bind)
                   and m.target == "/etc/nginx"), None) if proxy else None
    if source is None or not _path(stack, source).is_dir():
        return None
    found: set[str] = set()
    for conf in sorted(_path(stack, source).rglob("*.conf")):
        for names in SERVER_NAME.findall(conf.read_text(errors="replace")):
            found.update(n.lower() for n in names.split())
    return found


def _path(stack: Stack, path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else stack.root / path
