"""Builders shared by the unit tests (conftest.py wraps some as fixtures).

A small repository in tmp_path, a valid stack declared on it (shaped like the
example: db, then php and app, then proxy), helpers to tweak it with
dataclasses.replace, and engine states written by hand. No Docker anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pojemnik import (
    Bind,
    Healthcheck,
    Image,
    Limits,
    Network,
    Port,
    Problem,
    Secret,
    SecretMount,
    Service,
    Stack,
    Tmpfs,
    Volume,
    VolumeMount,
)
from pojemnik.planning import plan as p
from pojemnik.planning.state import Observed, ObservedContainer, ObservedImage, ObservedNetwork

PROJECT = "demo"
DB_PASSWORD = "s3cr3t-hunter2-value"  # must never appear in rendered output
HASHES = {"db": "hash-db", "php": "hash-php", "proxy": "hash-proxy"}


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_repo(root: Path, images: Iterable[str] = ("db", "php", "proxy")) -> Path:
    """images/<name>/Dockerfile for each image, config/proxy/, www/site/."""
    for name in images:
        write(root / "images" / name / "Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    write(root / "config" / "proxy" / "nginx.conf", "events {}\n")
    write(root / "www" / "site" / "index.html", "<p>hello</p>\n")
    return root


def make_stack(root: Path) -> Stack:
    database = {"DB_HOST": "db", "DB_PASSWORD": DB_PASSWORD}
    return Stack(
        project=PROJECT,
        root=root,
        networks=[
            Network("isolated", subnet="10.9.10.0/24", internal=True),
            Network("services", subnet="10.9.20.0/24"),
        ],
        images=[Image("db"), Image("php"), Image("proxy")],
        volumes=[Volume("dbdata")],
        secrets=[Secret("db_password")],
        services=[
            Service(
                "db",
                image="db",
                networks={"isolated": 3},
                mounts=[VolumeMount("dbdata", "/var/lib/db"), SecretMount("db_password"),
                        Tmpfs("/tmp")],
                limits=Limits(memory="256m"),
            ),
            Service(
                "php",
                image="php",
                networks={"services": 4, "isolated": 4},
                mounts=[Bind("www/site", "/srv/site"), SecretMount("db_password")],
                environment=database,
                depends_on=["db"],
            ),
            Service(
                "app",
                image="php",
                networks={"services": 5, "isolated": 5},
                mounts=[Bind("www/site", "/srv/app")],
                environment={"DB_HOST": "db", "APP_MODE": "production"},
                command=["python", "-m", "app"],
                depends_on=["db"],
            ),
            Service(
                "proxy",
                image="proxy",
                networks={"services": 3},
                ports=[Port(8080, 8080), Port(8443, 8443)],
                mounts=[Bind("config/proxy", "/etc/nginx"), Tmpfs("/run/nginx", size="1m")],
                healthcheck=Healthcheck(["curl", "-fsS", "http://127.0.0.1:8080/"]),
                limits=Limits(memory="64m"),
                depends_on=["php", "app"],
            ),
        ],
    )


# --- tweaking a stack -------------------------------------------------------------------


def with_service(stack: Stack, name: str, **changes: Any) -> Stack:
    """The stack with one service's fields replaced."""
    services = [replace(s, **changes) if s.name == name else s for s in stack.services]
    return replace(stack, services=services)


def with_network(stack: Stack, name: str, **changes: Any) -> Stack:
    networks = [replace(n, **changes) if n.name == name else n for n in stack.networks]
    return replace(stack, networks=networks)


def add_service(stack: Stack, service: Service) -> Stack:
    return replace(stack, services=[*stack.services, service])


def one(problems: list[Problem]) -> Problem:
    """The single problem found (fails with the full list otherwise)."""
    assert len(problems) == 1, "\n".join(str(x) for x in problems)
    return problems[0]


# --- engine states ----------------------------------------------------------------------


def converged(stack: Stack, hashes: dict[str, str] | None = None) -> Observed:
    """What the engine reports after applying the plan made against an empty engine:
    containers carry the planned labels (with the fingerprint), images the context hash."""
    hashes = dict(HASHES if hashes is None else hashes)
    first = p.make_plan(stack, Observed(context_hashes=hashes))
    images = {stack.base_image: ObservedImage(stack.base_image, "sha256:base")}
    for action in first.of_kind(p.BUILD):
        assert action.image is not None
        built = action.image
        images[built.tag] = ObservedImage(built.tag, f"sha256:{built.name}", dict(built.labels))
    networks = []
    for action in first.of_kind(p.CREATE_NETWORK):
        assert action.network is not None
        net = action.network
        networks.append(ObservedNetwork(net.name, f"id-{net.name}", [net.subnet],
                                        net.internal, dict(net.labels)))
    containers = []
    for action in first.of_kind(p.CREATE):
        assert action.container is not None
        spec = action.container
        image = images.get(spec.image)
        containers.append(ObservedContainer(
            spec.name, f"id-{spec.name}", dict(spec.labels), "running",
            image.id if image else "", networks=sorted(a.network for a in spec.networks),
            addresses={a.network: a.ip or "" for a in spec.networks}))
    return Observed(
        networks=networks,
        containers=containers,
        images=images,
        volumes=[a.target for a in first.of_kind(p.CREATE_VOLUME)],
        context_hashes=hashes,
        secrets=[a.target for a in first.of_kind(p.CREATE_SECRET)],
    )


def with_container(observed: Observed, name: str, **changes: Any) -> Observed:
    containers = [replace(c, **changes) if c.name == name else c for c in observed.containers]
    return replace(observed, containers=containers)


# The repository's own example, and settings that load it as a unit-test project.
EXAMPLE_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SETTINGS = {
    "POJEMNIK_PROJECT": "pojemnik-unit",
    "HTTP_PORT": "18080",
    "HTTPS_PORT": "18443",
    "PUBLISH_ADDRESS": "127.0.0.1",
    "ISOLATED_SUBNET": "10.0.10.0/24",
    "SERVICES_SUBNET": "10.0.20.0/24",
    "BASE_IMAGE": "debian:bookworm-slim",
}
