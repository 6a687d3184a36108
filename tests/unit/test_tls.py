"""Certificates: the declaration's checks (on the example, as `invoke` loads it), the
decision to order, and what the one-shot ACME container is given. No Docker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from stackbuilders import EXAMPLE_ROOT, EXAMPLE_SETTINGS

from pojemnik import Acme, Stack
from pojemnik.declaration.loader import load_stack
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.planning.tls import decide, failure_of, order_spec, parse_installed

NOW = datetime(2026, 12, 7, tzinfo=UTC)
SHOWN = """serial=0ABC12
notAfter=Mar  7 12:00:00 2027 GMT
issuer=CN = Pebble Intermediate CA 5d8c4a
subject=
X509v3 Subject Alternative Name:
    DNS:updates.localhost, DNS:Shop.Example.com
"""


def example(monkeypatch: pytest.MonkeyPatch, **settings: str) -> Stack:
    for name, value in {**EXAMPLE_SETTINGS, **settings}.items():
        monkeypatch.setenv(name, value)
    stack, problems = load_stack(EXAMPLE_ROOT)
    assert problems == []
    return stack


def problems_of(stack: Stack) -> list[str]:
    return [f"{p.where}: {p.message} / {p.fix}" for p in check_declaration(stack)]


def test_without_an_email_nothing_is_ordered_and_no_acme_image_is_built(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stack = example(monkeypatch, ACME_NAMES="updates.localhost")
    assert stack.tls is not None and stack.tls.ordered() == []
    assert "acme" not in {i.name for i in stack.images} and problems_of(stack) == []


def test_localhost_and_test_names_are_never_ordered(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = example(monkeypatch, ACME_EMAIL="me@example.org",
                    ACME_NAMES="updates.localhost,a.test")
    assert stack.tls is not None and stack.tls.ordered() == []
    assert problems_of(stack) == []


@pytest.mark.parametrize(("settings", "field", "words"), [
    ({"ACME_NAMES": "*.example.org"}, "tls.names[0]", "wildcard"),
    ({"ACME_NAMES": "nosite.example.org"}, "tls.names[0]", "on no site"),
    ({"ACME_EMAIL": "not-an-email"}, "tls.email", "ACME_EMAIL"),
    ({"ACME_DIRECTORY": "http://ca.example.org/dir"}, "tls.directory", "not an https"),
    ({"ACME_CA_CERTIFICATES": "missing/ca.pem"}, "tls.ca_certificates", "no file"),
    ({"POJEMNIK_TARGET": "swarm"}, "tls", "Swarm"),
    ({"ACME_RENEW_DAYS": "0"}, "tls.renew_days", "only once expired"),
])
def test_bad_input_is_named_with_its_field(monkeypatch: pytest.MonkeyPatch,
                                           settings: dict[str, str], field: str,
                                           words: str) -> None:
    base = {"ACME_EMAIL": "me@example.org", "ACME_NAMES": "nosite.example.org"}
    stack = example(monkeypatch, **{**base, **settings})
    found = [p for p in problems_of(stack) if p.startswith(f"stack.py: {field}")]
    assert found and words in found[0], problems_of(stack)


def test_openssl_output_is_read() -> None:
    found = parse_installed(SHOWN)
    assert found is not None and found.serial == "0ABC12" and not found.self_signed
    assert found.names == ("updates.localhost", "shop.example.com")
    assert found.days_left(NOW) == 90
    assert parse_installed("unable to load certificate") is None


def test_an_order_only_when_no_valid_certificate_for_the_names_is_installed() -> None:
    acme = Acme(names=["shop.example.com", "updates.localhost"], email="me@example.org")
    installed = parse_installed(SHOWN.replace("DNS:updates.localhost, ", ""))
    assert installed is not None
    assert not decide(acme, installed, NOW).order  # same names, 90 days left
    assert decide(acme, installed, NOW, force=True).order
    assert decide(acme, installed, installed.not_after - timedelta(days=29)).order
    assert decide(acme, None, NOW).order
    assert decide(replace(acme, names=["other.example.com"]), installed, NOW).order
    self_signed = replace(installed, issuer="CN = localhost", subject="CN = localhost")
    assert decide(acme, self_signed, NOW).reason.endswith("self-signed")
    assert not decide(replace(acme, email=""), None, NOW).order


def test_the_one_shot_client_gets_no_socket_and_no_secret(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stack = example(monkeypatch)
    acme = Acme(names=["shop.example.com"], email="me@example.org")
    spec = order_spec(stack, acme, "-----BEGIN CERTIFICATE-----")
    assert all("docker.sock" not in m.source for m in spec.mounts)
    assert spec.read_only and spec.cap_drop == ["ALL"] and spec.restart == "no"
    assert set(spec.environment) == {"ACME_NAMES", "ACME_EMAIL", "ACME_DIRECTORY",
                                     "ACME_CA_PEM"}


def test_the_client_says_how_it_went_on_its_last_line() -> None:
    assert failure_of("lego: obtained\nacme-order: ok\n") is None
    said = failure_of("[shop] acme: error: 400 :: urn:ietf:params:acme:error:connection"
                      "\nacme-order: failed (1)\n")
    assert said is not None and "error:connection" in said
