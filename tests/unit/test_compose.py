"""export.compose: the document and the YAML it is written as (pure)."""

from __future__ import annotations

from stackbuilders import DB_PASSWORD

from pojemnik import Stack
from pojemnik.planning.compose import compose_document, to_yaml


def test_document_keeps_networks_addresses_ports_and_limits(stack: Stack) -> None:
    doc = compose_document(stack)
    assert doc["name"] == "demo"
    assert doc["networks"]["isolated"]["internal"] is True
    assert doc["networks"]["services"]["ipam"]["config"] == [
        {"subnet": "10.9.20.0/24", "gateway": "10.9.20.1"}]
    assert doc["networks"]["services"]["name"] == "demo-services"
    proxy = doc["services"]["proxy"]
    assert proxy["networks"]["services"] == {"aliases": ["proxy"], "ipv4_address": "10.9.20.3"}
    assert proxy["ports"][0] == {"target": 8080, "published": "8080", "host_ip": "127.0.0.1",
                                 "protocol": "tcp"}
    assert proxy["read_only"] is True and proxy["cap_drop"] == ["ALL"]
    assert proxy["mem_limit"] == 64 * 2**20
    assert proxy["depends_on"] == {"php": {"condition": "service_healthy"},
                                   "app": {"condition": "service_healthy"}}
    assert list(doc["services"]) == ["db", "app", "php", "proxy"]  # dependency order
    assert doc["volumes"]["dbdata"]["name"] == "demo-dbdata"  # same volume: data kept


def test_secret_values_stay_out_of_the_file(stack: Stack) -> None:
    text = to_yaml(compose_document(stack))
    assert DB_PASSWORD not in text
    assert "DB_PASSWORD: \"${DB_PASSWORD}\"" in text


def test_yaml_quotes_what_would_change_meaning() -> None:
    text = to_yaml({"a": "yes", "b": "10.0.0.1", "c": "plain/path", "d": True, "e": [],
                    "f": [{"x": 1, "z": "on"}], "g": "a: b"})
    assert text.splitlines() == ['a: "yes"', 'b: "10.0.0.1"', "c: plain/path", "d: true",
                                 "e: []", "f:", "  - x: 1", '    z: "on"', 'g: "a: b"']


def test_a_dependency_needed_only_started_keeps_its_condition(stack: Stack) -> None:
    from stackbuilders import with_service

    from pojemnik import Started

    doc = compose_document(with_service(stack, "proxy", depends_on=[Started("php"), "app"]))
    assert doc["services"]["proxy"]["depends_on"] == {
        "php": {"condition": "service_started"}, "app": {"condition": "service_healthy"}}
