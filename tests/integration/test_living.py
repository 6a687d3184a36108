"""Living with a deployed stack, for real: `status`, bounded logs, `logs --since`, and
the refusals that keep it healthy (undeclared settings, memory over the host's)."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from .conftest import Copy, make_copy
from .test_bad_input import edit, engine_objects

pytestmark = pytest.mark.integration

SERVICES = {"db": 256, "php": 128, "app": 192, "proxy": 64}  # declared limits, MiB
MIB = 1024**2


def test_status_json_lists_every_service_with_memory(deployed: Copy) -> None:
    data = json.loads(deployed.invoke("status", "--json").stdout)
    rows = {s["service"]: s for s in data["services"]}
    assert set(rows) == set(SERVICES)
    for service, limit in SERVICES.items():
        row = rows[service]
        assert row["state"] == "running", row
        # Right after the deploy saw them ready, Docker's first health check is still due
        # (it would say "starting"): status runs the health command itself.
        assert row["readiness"] in ("healthy", "healthy (probed)",
                                    "running (no healthcheck)"), row
        assert 0 < row["memory_used"] < row["memory_limit"] == limit * MIB, row
        assert row["cpu_percent"] is not None and row["uptime"] is not None
    host = data["host"]
    assert host["memory_total"] > 0
    assert host["memory_limits"] == sum(SERVICES.values()) * MIB
    assert f"{deployed.project}-dbdata" in host["volume_sizes"]


def test_status_table_for_people(deployed: Copy) -> None:
    output = deployed.invoke("status").stdout
    assert output.splitlines()[0].split()[:3] == ["SERVICE", "STATE", "READINESS"]
    for service in SERVICES:
        assert any(line.startswith(f"{service} ") for line in output.splitlines())
    assert "host memory:" in output and "host disk" in output


def test_every_container_rotates_its_logs(client: docker.DockerClient,
                                          deployed: Copy) -> None:
    for service in SERVICES:
        config = client.api.inspect_container(f"{deployed.project}-{service}")
        assert config["HostConfig"]["LogConfig"] == {
            "Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}, service


def test_logs_since(deployed: Copy) -> None:
    recent = deployed.invoke("logs", "--since", "10m", "--name", "db")
    assert recent.returncode == 0
    everything = deployed.invoke("logs", "--since", "2000-01-01T00:00:00Z", "--name", "db",
                                 "--tail", "all").stdout
    assert everything.strip(), "the database logs something when it starts"
    future = deployed.invoke("logs", "--since", "4102444800", "--name", "db").stdout
    assert future.strip() == ""  # nothing after 2100: the window really is applied
    bad = deployed.invoke("logs", "--since", "yesterday", "--name", "db", check=False)
    assert bad.returncode == 2
    assert "--since 'yesterday'" in bad.stdout + bad.stderr


def test_an_undeclared_setting_is_refused_naming_it(client: docker.DockerClient,
                                                    scratch_repo: Path) -> None:
    copy = make_copy(client, scratch_repo)
    edit(scratch_repo / "stack.py", 'settings["BASE_IMAGE"]', 'settings["BASE_IMAGES"]')
    result = copy.invoke("deploy", check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "setting BASE_IMAGES is not declared" in output
    assert "add BASE_IMAGES=<default> to .env.example" in output
    assert "Traceback" not in output
    assert engine_objects(client, copy.project) == []


def test_limits_over_the_host_memory_are_refused_with_the_amount(
        client: docker.DockerClient, scratch_repo: Path) -> None:
    copy = make_copy(client, scratch_repo)
    edit(scratch_repo / "stack.py", 'memory="256m"', 'memory="4096g"')
    host = int(client.api.info()["MemTotal"])
    total = 4096 * 1024 * MIB + (128 + 192 + 64) * MIB
    over = total - (host - 256 * MIB)
    for task in ("deploy", "check"):
        result = copy.invoke(task, check=False)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "nothing was changed" in output
        assert f"memory limits total {total / MIB:.0f} MiB" in output
        assert f"by {over / MIB:.0f} MiB" in output
        assert "services.db.limits.memory" in output
    assert engine_objects(client, copy.project) == []
