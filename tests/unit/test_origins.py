"""Problems in values read from `.env` name the variable, its file and line, and hints
name the user's own variables; an overlap proposes a range that is really free."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest
from stackbuilders import one, with_network, write

from pojemnik import Limits, Port, Stack
from pojemnik.declaration.loader import load_stack
from pojemnik.declaration.origins import Origin
from pojemnik.declaration.problems import InvalidStack
from pojemnik.declaration.ranges import free_range
from pojemnik.planning.checks import validate
from pojemnik.planning.state import Observed, ObservedImage, ObservedNetwork

STACK_PY = '''
from pathlib import Path
from pojemnik import Network, Port, Service, Stack


def declare(settings):
    return Stack(
        project=settings["POJEMNIK_PROJECT"],
        root=Path(__file__).parent,
        networks=[Network("isolated", subnet=settings["ISOLATED_SUBNET"]),
                  Network("services", subnet=settings["SERVICES_SUBNET"])],
        services=[Service("echo", image="echo:latest", networks={"services": 3},
                          ports=[Port(settings.int("ECHO_PORT"), 80)])],
    )
'''
EXAMPLE = ("POJEMNIK_PROJECT=demo\nISOLATED_SUBNET=10.0.10.0/24\n"
           "SERVICES_SUBNET=10.0.20.0/24\nECHO_PORT=8080\n")


def engine(**state: object) -> Observed:
    """An engine holding the echo image, and `state`."""
    return Observed(images={"echo:latest": ObservedImage("echo:latest", "sha256:e")},
                    **state)  # type: ignore[arg-type]


@pytest.fixture
def envrepo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("POJEMNIK_PROJECT", "ISOLATED_SUBNET", "SERVICES_SUBNET", "ECHO_PORT"):
        monkeypatch.delenv(name, raising=False)
    write(tmp_path / "stack.py", STACK_PY)
    write(tmp_path / ".env.example", EXAMPLE)
    return tmp_path


def test_undeclared_setting_in_stack_py_is_a_problem_naming_it(envrepo: Path) -> None:
    write(envrepo / ".env.example", EXAMPLE.replace("ECHO_PORT=8080\n", ""))
    with pytest.raises(InvalidStack) as raised:
        load_stack(envrepo)
    problem = one(raised.value.problems)
    assert problem.where == "stack.py:13"  # the line reading it
    assert "setting ECHO_PORT is not declared" in problem.message
    assert "add ECHO_PORT=<default> to .env.example" in problem.fix


def test_loaded_stack_knows_where_its_values_came_from(envrepo: Path) -> None:
    write(envrepo / ".env", "# local\nISOLATED_SUBNET=10.5.0.0/24\n")
    stack, problems = load_stack(envrepo)
    assert problems == []
    assert stack.origins["10.5.0.0/24"] == (Origin("ISOLATED_SUBNET", ".env:2"),)
    assert stack.origins["8080"] == (Origin("ECHO_PORT", ".env.example:4"),)


def test_invalid_subnet_names_its_variable_and_line(envrepo: Path) -> None:
    write(envrepo / ".env", "\n\nISOLATED_SUBNET=10.0.10.300/24\n")
    stack, _ = load_stack(envrepo)
    problem = one(validate(stack, engine()))
    assert problem.where == ("stack.py: networks.isolated.subnet "
                             "(from ISOLATED_SUBNET, .env:3)")
    assert "ISOLATED_SUBNET" in problem.fix


def test_declared_overlap_proposes_a_range_free_of_the_others(envrepo: Path) -> None:
    write(envrepo / ".env", "SERVICES_SUBNET=10.0.10.128/25\n")
    stack, _ = load_stack(envrepo)
    problem = one(validate(stack, engine()))
    assert "(from SERVICES_SUBNET, .env:1)" in problem.where
    assert "set SERVICES_SUBNET in .env to e.g. 10.0.11.0/25" in problem.fix


def test_the_same_value_from_two_variables_names_both(envrepo: Path) -> None:
    write(envrepo / ".env", "SERVICES_SUBNET=10.0.10.0/24\n")
    stack, _ = load_stack(envrepo)
    problem = one(validate(stack, engine()))
    assert "ISOLATED_SUBNET, .env.example:2 or SERVICES_SUBNET, .env:1" in problem.where


def test_engine_overlap_proposes_a_range_free_on_the_engine(envrepo: Path) -> None:
    stack, _ = load_stack(envrepo)
    observed = engine(networks=[
        ObservedNetwork("other", "id1", ["10.0.20.0/23"]),  # takes .20 and .21
        ObservedNetwork("more", "id2", ["10.0.22.0/24"]),
        ObservedNetwork("demo-isolated", "id3", ["10.0.10.0/24"])])
    problem = one(validate(stack, observed))
    assert problem.where == ("stack.py: networks.services.subnet "
                             "(from SERVICES_SUBNET, .env.example:3)")
    assert "set SERVICES_SUBNET in .env to a free range, e.g. 10.0.23.0/24" in problem.fix


def test_busy_port_hint_names_the_users_variable(envrepo: Path) -> None:
    stack, _ = load_stack(envrepo)
    problem = one(validate(stack, engine(busy_ports=[("127.0.0.1", 8080, "tcp")])))
    assert "(from ECHO_PORT, .env.example:4)" in problem.where
    assert "choose another port (ECHO_PORT in .env)" in problem.fix
    assert "HTTP_PORT" not in problem.fix


def test_value_from_the_environment_says_so(envrepo: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    monkeypatch.setenv("ECHO_PORT", "9090")
    stack, _ = load_stack(envrepo)
    problem = one(validate(stack, engine(busy_ports=[("127.0.0.1", 9090, "tcp")])))
    assert "(from ECHO_PORT, the environment)" in problem.where
    assert "ECHO_PORT in the environment" in problem.fix


def test_duplicate_ports_hint_names_the_variable(envrepo: Path) -> None:
    stack, _ = load_stack(envrepo)
    echo = stack.services[0]
    twice = replace(echo, ports=[*echo.ports, Port(8080, 81)])
    problem = one(validate(replace(stack, services=[twice]), engine()))
    assert "change ECHO_PORT in .env" in problem.fix


def test_without_origins_the_where_is_unchanged(stack: Stack) -> None:
    problem = one(validate(with_network(stack, "services", subnet="10.9.10.0/24"),
                           Observed()))
    assert problem.where == "stack.py: networks.services.subnet"
    assert "networks.services.subnet to e.g. 10.9.11.0/24" in problem.fix


# --- the free range ---------------------------------------------------------------------


def net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text)


def test_free_range_is_the_next_free_one() -> None:
    assert free_range(net("10.0.10.0/24"), [net("10.0.10.0/24")]) == net("10.0.11.0/24")
    assert free_range(net("10.0.10.0/24"), [net("10.0.11.0/24"), net("10.0.12.0/23")]) \
        == net("10.0.14.0/24")


def test_free_range_stays_in_the_private_block_and_wraps() -> None:
    assert free_range(net("192.168.255.0/24"), [net("192.168.0.0/24")]) \
        == net("192.168.1.0/24")
    assert free_range(net("192.168.0.0/24"), [net("192.168.0.0/16")]) is None


def test_free_range_never_overlaps_a_large_taken_network() -> None:
    found = free_range(net("172.17.5.0/24"), [net("172.16.0.0/13")])
    assert found is not None and not found.overlaps(net("172.16.0.0/13"))
    assert found.subnet_of(net("172.16.0.0/12"))


# --- memory against the host ------------------------------------------------------------


GIB = 1024**3


def test_limits_over_the_host_memory_less_the_reserve_are_refused(stack: Stack) -> None:
    # db 256m + php 128m + app 128m + proxy 64m = 576 MiB; host 768 MiB - 256m reserve.
    problem = one(validate(stack, Observed(host_memory=768 * 1024**2)))
    assert "memory limits total 576 MiB" in problem.message
    assert "768 MiB less the reserve of 256 MiB" in problem.message
    assert "by 64 MiB" in problem.message
    assert "services.db.limits.memory" in problem.fix


def test_limits_that_fit_pass_and_the_reserve_is_declared(stack: Stack) -> None:
    assert validate(stack, Observed(host_memory=832 * 1024**2)) == []
    assert validate(replace(stack, memory_reserve="1g"),
                    Observed(host_memory=GIB + 576 * 1024**2)) == []
    assert validate(stack, Observed(host_memory=None)) == []


def test_a_huge_limit_is_refused(stack: Stack) -> None:
    big = replace(stack, services=[replace(stack.services[0], limits=Limits(memory="64g")),
                                   *stack.services[1:]])
    problem = one(validate(big, Observed(host_memory=2 * GIB)))
    assert "over the host's 2048 MiB" in problem.message
