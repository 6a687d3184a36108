"""Every problem in one pass, one per mistake, with "did you mean X?" where a declared
name is near (issue 24, items 3 and 5)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from stackbuilders import one, with_network, with_service
from test_updates import rolling

from pojemnik import (
    Bind,
    Image,
    InvalidStack,
    Port,
    SecretMount,
    Stack,
    StartFirst,
    VolumeMount,
)
from pojemnik.declaration.origins import Origin, Unusable
from pojemnik.declaration.suggest import closest, suggesting
from pojemnik.declaration.validate.images import unknown_images
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.errors import DockerError
from pojemnik.operations.host.converge import converge
from pojemnik.planning.checks import validate
from pojemnik.planning.plan import Options
from pojemnik.planning.state import Observed, ObservedImage


def test_closest_finds_a_near_name_and_leaves_a_far_one() -> None:
    assert closest("wroker", ["proxy", "worker"]) == "worker"
    assert closest("redsi", ["redis", "db"]) == "redis"
    assert closest("dockerfile", ["Dockerfile", "nginx.conf"]) == "Dockerfile"
    assert closest("cache", ["db", "proxy"]) is None
    assert closest("db", ["db"]) is None  # the name itself is no suggestion
    assert suggesting("servcies", ["services"], "declare it") == \
        "did you mean 'services'? If not: declare it"
    assert suggesting("cache", ["db"], "declare it") == "declare it"


# --- item 3: every problem at once ----------------------------------------------------


def test_two_unrelated_typos_are_both_reported(stack: Stack) -> None:
    """A service's network and another's image: found in one pass, each with its hint."""
    bad = with_service(stack, "proxy", networks={"servcies": 3})
    bad = with_service(bad, "php", image="pph")
    problems = check_declaration(bad)
    assert [p.where for p in problems] == ["stack.py: services.php.image",
                                           "stack.py: services.proxy.networks.servcies"]
    image, network = problems
    assert "unknown image 'pph'" in image.message
    assert image.fix.startswith("did you mean 'php'?")
    assert "unknown network 'servcies'" in network.message
    assert network.fix.startswith("did you mean 'services'?")
    assert "(isolated, services)" in network.fix  # the declared ones, still


def test_a_mistyped_image_is_one_problem_also_against_the_engine(stack: Stack) -> None:
    bad = with_service(stack, "php", image="pph")
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: services.php.image"
    assert unknown_images(bad, set()) == []  # left to the declaration's own checks


def test_volume_secret_service_and_upstream_typos_suggest_the_declared_name(
        stack: Stack) -> None:
    bad = rolling(stack)
    db = bad.service("db")
    bad = with_service(bad, "db", mounts=[VolumeMount("dbdta", "/var/lib/db"),
                                          SecretMount("db_pasword")])
    bad = with_service(bad, "proxy", depends_on=["php", "ap"],
                       upstreams=replace(bad.service("proxy").upstreams, ports={"aap": 8080}))
    fixes = {p.message: p.fix for p in check_declaration(bad)}
    assert fixes == {
        "unknown volume 'dbdta'": "did you mean 'dbdata'? If not: declare Volume('dbdta') in "
                                  "volumes",
        "unknown secret 'db_pasword'": "did you mean 'db_password'? If not: declare "
                                       "Secret('db_pasword') in secrets",
        "unknown service 'ap'": "did you mean 'app'? If not: depend on a declared service, "
                                "or remove the dependency",
        "unknown service 'aap'": "did you mean 'app'? If not: name a declared service",
    }
    assert db.mounts  # the builder's db had its own mounts


def test_a_network_typo_makes_no_second_problem_about_shared_networks(stack: Stack) -> None:
    bad = with_service(rolling(stack), "proxy", networks={"servcies": 3})
    problem = one(check_declaration(bad))
    assert "unknown network 'servcies'" in problem.message


def test_a_standby_on_a_mistyped_network_suggests_the_service_s(stack: Stack) -> None:
    bad = with_service(rolling(stack), "app",
                       update=StartFirst({"servcies": 105, "isolated": 105}))
    problem = one(check_declaration(bad))
    assert problem.where == "stack.py: services.app.update.standby"
    assert problem.fix.startswith("did you mean 'services'?")


def test_a_lowercase_dockerfile_is_named(stack: Stack, repo: Path) -> None:
    (repo / "images/php/Dockerfile").rename(repo / "images/php/dockerfile")
    problem = one(check_declaration(stack))
    assert problem.where == "stack.py: images.php.dockerfile"
    assert "images/php/Dockerfile does not exist" in problem.message
    assert "holds 'dockerfile': did you mean Dockerfile? Rename it" in problem.fix


def test_a_mistyped_image_folder_is_named(stack: Stack) -> None:
    bad = replace(stack, images=[*stack.images[:2], Image("proxy", context="images/porxy")])
    problem = one(check_declaration(bad))
    assert problem.where == "stack.py: images.proxy.context"
    assert problem.fix.startswith("did you mean images/proxy/?")


def test_an_image_on_no_engine_suggests_a_near_tag(stack: Stack) -> None:
    bad = with_service(stack, "db", image="postgress:16")
    observed = Observed(images={"postgres:16": ObservedImage("postgres:16", "sha256:1")})
    problem = one(validate(bad, observed))
    assert problem.where == "stack.py: services.db.image"
    assert "'postgress:16' (not declared, and not present on the engine)" in problem.message
    assert problem.fix.startswith("did you mean 'postgres:16'?")
    assert "load postgress:16 into the engine" in problem.fix
    assert validate(with_service(stack, "db", image="postgres:16"), observed) == []


# --- item 5: a bad setting is one problem, the setting's --------------------------------


def test_an_unusable_port_from_a_setting_makes_no_second_problem(stack: Stack) -> None:
    """`HTTP_PORT=38O80`: the settings report it; 0 stands in, and is not reported."""
    bad = with_service(stack, "proxy", ports=[Port(Unusable(0), 8080), Port(8443, 8443)])
    assert check_declaration(bad) == []
    twice = with_service(stack, "proxy", ports=[Port(Unusable(80), 8080), Port(80, 8443)])
    assert check_declaration(twice) == []


def from_env(stack: Stack, subnet: str, where: str = ".env:4") -> Stack:
    return replace(with_network(stack, "services", subnet=subnet),
                   origins={subnet: (Origin("SERVICES_SUBNET", where),)})


def test_a_subnet_from_env_too_small_blames_the_setting_and_every_address(
        stack: Stack) -> None:
    problem = one(check_declaration(from_env(rolling(stack), "10.9.20.0/30")))
    assert problem.where == ".env:4"
    assert "SERVICES_SUBNET=10.9.20.0/30 (network 'services') cannot hold" in problem.message
    for address, field, reason in [
            ("10.9.20.4", "services.php.networks.services", "outside the subnet"),
            ("10.9.20.5", "services.app.networks.services", "outside the subnet"),
            ("10.9.20.3", "services.proxy.networks.services", "the broadcast address"),
            ("10.9.20.104", "services.php.update.standby.services", "outside the subnet"),
            ("10.9.20.105", "services.app.update.standby.services", "outside the subnet")]:
        assert f"{address} ({field}): {reason}" in problem.message
    # The smallest range from the same start holding .105: a /25.
    assert "set SERVICES_SUBNET in .env to a range that holds them, e.g. 10.9.20.0/25" \
        in problem.fix


def test_a_subnet_from_env_that_fits_is_fine(stack: Stack) -> None:
    assert check_declaration(from_env(rolling(stack), "10.9.20.0/25")) == []


def test_a_subnet_in_the_stack_file_blames_each_address(stack: Stack) -> None:
    """Not from `.env` (nor from its default in .env.example): the addresses are what
    the user wrote, each its own problem; the standby's too."""
    for bad in (with_network(rolling(stack), "services", subnet="10.9.20.0/26"),
                from_env(rolling(stack), "10.9.20.0/26", ".env.example:9")):
        problems = check_declaration(bad)
        assert [p.where for p in problems] == [
            "stack.py: services.php.update.standby.services",
            "stack.py: services.app.update.standby.services"]
        assert "address 10.9.20.104 is outside the subnet 10.9.20.0/26" in problems[0].message
        assert problems[0].fix == "pick an address inside 10.9.20.0/26"


def test_host_numbers_clash_also_on_a_subnet_blamed_as_a_whole(stack: Stack) -> None:
    bad = from_env(with_service(stack, "app", networks={"services": 4, "isolated": 5}),
                   "10.9.20.0/30")
    problems = check_declaration(bad)
    assert [p.where for p in problems] == [".env:4", "stack.py: services.app.networks.services"]
    assert "also given to service 'php'" in problems[1].message


def test_a_mistyped_mount_source_is_named(stack: Stack) -> None:
    bad = with_service(stack, "php", mounts=[Bind("www/stie", "/srv/site")])
    problem = one(check_declaration(bad))
    assert problem.where == "stack.py: services.php.mounts[0]"
    assert problem.fix.startswith("did you mean www/site? If not: create www/stie")


class Images:
    """An engine that answers only for its image list (a refusal reads nothing else)."""

    def __init__(self, tags: dict[str, str] | None) -> None:
        self.tags = tags

    def image_ids(self) -> dict[str, str]:
        if self.tags is None:
            raise DockerError("the engine does not answer")
        return self.tags

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the engine was used ({name}) by a refused deploy")


def test_a_refusal_names_the_images_on_no_engine_with_the_rest(stack: Stack) -> None:
    bad = with_service(with_service(stack, "proxy", networks={"servcies": 3}),
                       "db", image="postgress:16")
    with pytest.raises(InvalidStack) as raised:
        converge(bad, Images({"postgres:16": "sha256:1"}), Options(), print)  # type: ignore[arg-type]
    assert [p.where for p in raised.value.problems] == [
        "stack.py: services.proxy.networks.servcies", "stack.py: services.db.image"]
    # An engine that does not answer: the problems found still stand, alone.
    with pytest.raises(InvalidStack) as raised:
        converge(bad, Images(None), Options(), print)  # type: ignore[arg-type]
    assert [p.where for p in raised.value.problems] == [
        "stack.py: services.proxy.networks.servcies"]
