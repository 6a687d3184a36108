"""`status` from plain data: gathering from an engine's reports, readiness, the table
and JSON; and the parsing of the engine's stats and the host's `df`/`du` output."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pojemnik import Stack
from pojemnik.engine.backend import ContainerUsage, HostUsage
from pojemnik.engine.usage import cpu_percent, memory_used, parse_du, parse_time
from pojemnik.operations.status import as_json, duration, gather, readiness, size, table
from pojemnik.ssh.disk import parse_df

MIB = 1024**2
NOW = 1_800_000_000.0


@dataclass
class ReportingEngine:
    """Just the engine's two status reports, written by hand."""

    usages: list[ContainerUsage] = field(default_factory=list)
    where: str = "local"

    def container_usage(self, project: str) -> list[ContainerUsage]:
        return self.usages

    def host_usage(self, project: str) -> HostUsage:
        return HostUsage(2048 * MIB, 2, "/var/lib/docker", 20 * 1024 * MIB, 5 * 1024 * MIB,
                         {f"{project}-dbdata": 45 * MIB, f"{project}-other": -1})


def usage(service: str, **changes: object) -> ContainerUsage:
    values: dict[str, object] = dict(
        name=f"demo-{service}", service=service, state="running", health="healthy",
        restarts=0, started_at=NOW - 7500, memory_used=30 * MIB, memory_limit=256 * MIB,
        cpu_percent=1.25)
    values.update(changes)
    return ContainerUsage(**values)  # type: ignore[arg-type]


def engine() -> ReportingEngine:
    return ReportingEngine([
        usage("db"),
        usage("php", health=None, memory_limit=None, restarts=3),
        usage("proxy", state="exited", started_at=None, memory_used=None, cpu_percent=None),
    ])


def test_every_declared_service_is_listed_with_its_figures(stack: Stack) -> None:
    found = gather(stack, engine(), NOW)  # type: ignore[arg-type]
    rows = {s.service: s for s in found.services}
    assert list(rows) == ["db", "php", "app", "proxy"]
    assert rows["db"].readiness == "healthy" and rows["db"].uptime == 7500
    assert rows["db"].memory_used == 30 * MIB and rows["db"].memory_limit == 256 * MIB
    assert rows["php"].readiness == "running (no healthcheck)"
    assert rows["php"].restarts == 3
    assert rows["php"].memory_limit == 128 * MIB  # the declared one, when not reported
    assert rows["app"].state == "missing"
    assert rows["proxy"].readiness == "exited" and rows["proxy"].uptime is None


def test_host_figures_against_the_declared_limits(stack: Stack) -> None:
    host = gather(stack, engine(), NOW).host  # type: ignore[arg-type]
    assert host.memory_total == 2048 * MIB
    assert host.memory_limits == 576 * MIB
    assert host.memory_reserve == 256 * MIB
    assert host.volumes_size == 45 * MIB  # the unmeasured one is left out
    assert host.disk_free == 5 * 1024 * MIB


def test_readiness() -> None:
    assert readiness("running", None) == "running (no healthcheck)"
    assert readiness("running", "starting") == "starting"
    assert readiness("running", "unhealthy") == "unhealthy"
    assert readiness("restarting", "unhealthy") == "restarting"


def test_table_for_people(stack: Stack) -> None:
    lines = table(gather(stack, engine(), NOW))  # type: ignore[arg-type]
    assert lines[0].split() == ["SERVICE", "STATE", "READINESS", "RESTARTS", "UPTIME",
                                "MEMORY", "(USED", "/", "LIMIT)", "CPU"]
    db = next(line for line in lines if line.startswith("db "))
    assert "healthy" in db and "2h 5m" in db and "30.0 MiB / 256.0 MiB" in db and "1.2%" in db
    assert any(line.startswith("app ") and "missing" in line for line in lines)
    assert "host memory: 2.0 GiB; the limits together 576.0 MiB + reserve 256.0 MiB: fits" \
        in lines
    assert "host disk (/var/lib/docker): 5.0 GiB free of 20.0 GiB; the stack's volumes " \
        "45.0 MiB" in lines


def test_table_says_when_the_limits_do_not_fit(stack: Stack) -> None:
    small = ReportingEngine()
    small.host_usage = lambda project: HostUsage(  # type: ignore[method-assign]
        768 * MIB, 1, "/d", None, None, {})
    lines = table(gather(stack, small, NOW))  # type: ignore[arg-type]
    assert any("OVER by 64.0 MiB" in line for line in lines)
    assert any("host disk (/d): unknown" in line for line in lines)


def test_json_for_machines(stack: Stack) -> None:
    data = json.loads(as_json(gather(stack, engine(), NOW)))  # type: ignore[arg-type]
    assert data["project"] == "demo"
    db = data["services"][0]
    assert db == {"service": "db", "container": "demo-db", "state": "running",
                  "readiness": "healthy", "restarts": 0, "uptime": 7500.0,
                  "memory_used": 30 * MIB, "memory_limit": 256 * MIB, "cpu_percent": 1.25}
    assert data["host"]["memory_total"] == 2048 * MIB


def test_sizes_and_durations() -> None:
    assert (size(None), size(512), size(2048), size(3 * MIB)) == (
        "-", "512 B", "2.0 KiB", "3.0 MiB")
    assert (duration(None), duration(42), duration(125), duration(7500),
            duration(90000)) == ("-", "42s", "2m 5s", "2h 5m", "1d 1h")


# --- the engine's and the host's raw reports ------------------------------------------


def test_memory_used_leaves_out_the_page_cache() -> None:
    v1 = {"memory_stats": {"usage": 50 * MIB, "stats": {"total_inactive_file": 20 * MIB}}}
    v2 = {"memory_stats": {"usage": 50 * MIB, "stats": {"inactive_file": 10 * MIB}}}
    assert memory_used(v1) == 30 * MIB
    assert memory_used(v2) == 40 * MIB
    assert memory_used({"memory_stats": {}}) is None


def test_cpu_percent_as_docker_stats_computes_it() -> None:
    stats = {"cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000,
                           "online_cpus": 2},
             "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000}}
    assert cpu_percent(stats) == 40.0
    assert cpu_percent({"cpu_stats": {}, "precpu_stats": {}}) is None


def test_parse_times_and_host_commands() -> None:
    assert parse_time("2026-11-27T10:00:00.123456789Z") == 1795773600.123456
    assert parse_time("0001-01-01T00:00:00Z") is None
    df = ("Filesystem     1024-blocks    Used Available Capacity Mounted on\n"
          "/dev/sda1         20000000 5000000  15000000      25% /\n")
    assert parse_df(df) == (20000000 * 1024, 15000000 * 1024)
    assert parse_df("") is None
    assert parse_du("46980\t/var/lib/docker/volumes/x/_data\n") == 46980 * 1024
    assert parse_du("") is None


def test_a_one_off_of_a_service_is_not_its_status(stack: Stack) -> None:
    live = usage("db", name=stack.container_name("db"))
    once = usage("db", name=f"{stack.container_name('db')}-run-abc123", restarts=9)
    found = gather(stack, ReportingEngine([live, once]), NOW)  # type: ignore[arg-type]
    assert {s.service: s for s in found.services}["db"].restarts == 0
