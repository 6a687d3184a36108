"""Resolving the declaration: addresses, sizes, container specs and their fingerprints."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pojemnik import Network, Stack
from pojemnik.declaration.units import address_on, gateway_of, memory_bytes
from pojemnik.planning.spec import container_spec, network_spec


@pytest.mark.parametrize(
    ("subnet", "host", "expected"),
    [
        ("10.9.0.0/24", 3, "10.9.0.3"),
        ("10.9.0.0/24", 254, "10.9.0.254"),
        ("192.168.77.0/24", 3, "192.168.77.3"),
        ("172.20.0.0/16", 300, "172.20.1.44"),
        ("10.9.0.0/24", "10.9.0.42", "10.9.0.42"),
        ("10.9.0.0/24", None, None),
    ],
)
def test_address_on_follows_the_subnet(subnet: str, host: int | str | None,
                                       expected: str | None) -> None:
    assert address_on(Network("n", subnet), host) == expected


def test_gateway_is_the_first_host_unless_declared() -> None:
    assert gateway_of(Network("n", "10.9.0.0/24")) == "10.9.0.1"
    assert gateway_of(Network("n", "10.9.0.0/24", gateway="10.9.0.254")) == "10.9.0.254"


def test_network_spec_is_prefixed_and_labelled(stack: Stack) -> None:
    spec = network_spec(stack, stack.network("isolated"))
    assert (spec.name, spec.subnet, spec.gateway, spec.internal) == (
        "demo-isolated", "10.9.10.0/24", "10.9.10.1", True)
    assert spec.labels["pojemnik.project"] == "demo"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("64m", 64 * 1024**2),
        ("1g", 1024**3),
        ("1.5g", 3 * 1024**3 // 2),
        ("512k", 512 * 1024),
        ("100b", 100),
        ("4096", 4096),
        (" 128M ", 128 * 1024**2),
    ],
)
def test_memory_bytes(text: str, expected: int) -> None:
    assert memory_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "m", "12x"])
def test_memory_bytes_rejects_non_sizes(text: str) -> None:
    with pytest.raises(ValueError):
        memory_bytes(text)


def test_container_spec_resolves_names_paths_and_addresses(stack: Stack) -> None:
    spec = container_spec(stack, stack.service("php"))
    assert spec.name == "demo-php"
    assert spec.image == "demo/php:latest"
    assert [(a.network, a.ip, a.aliases) for a in spec.networks] == [
        ("demo-services", "10.9.20.4", ["php"]),
        ("demo-isolated", "10.9.10.4", ["php"]),
    ]
    site, secret = spec.mounts
    assert (site.type, site.source, site.target, site.read_only) == (
        "bind", str(stack.root.resolve() / "www" / "site"), "/srv/site", True)
    assert (secret.source, secret.target, secret.read_only) == (
        str(stack.root.resolve() / ".secrets" / "demo" / "db_password"),
        "/run/secrets/db_password", True)
    assert spec.labels["pojemnik.service"] == "php"


def test_fingerprint_changes_when_environment_changes(stack: Stack) -> None:
    spec = container_spec(stack, stack.service("app"))
    changed = replace(spec, environment={**spec.environment, "APP_MODE": "debug"})
    before, after = spec.fingerprint(), changed.fingerprint()
    assert before != after
    assert [key for key in before if before[key] != after[key]] == ["environment"]


def test_fingerprint_ignores_labels(stack: Stack) -> None:
    spec = container_spec(stack, stack.service("app"))
    relabelled = replace(spec, labels={**spec.labels, "pojemnik.spec-hash": "{}", "x": "y"})
    assert relabelled.fingerprint() == spec.fingerprint()


def test_fingerprint_holds_no_values(stack: Stack) -> None:
    spec = container_spec(stack, stack.service("php"))
    fingerprint = spec.fingerprint()
    assert "labels" not in fingerprint
    assert all(len(digest) == 12 for digest in fingerprint.values())
    assert not any(stack.service("php").environment["DB_PASSWORD"] in d
                   for d in fingerprint.values())
