"""validate(stack, observed): every problem at once, each with its file/field and a fix."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from stackbuilders import add_service, one, with_network, with_service

from pojemnik import Bind, Image, Limits, Network, Port, SecretMount, Service, Stack, VolumeMount
from pojemnik.declaration.order import startup_order
from pojemnik.planning.checks import validate
from pojemnik.planning.state import Observed, ObservedImage, ObservedNetwork


def test_valid_stack_has_no_problems(stack: Stack) -> None:
    assert validate(stack, Observed()) == []
    assert validate(stack) == []


# --- project and names ---------------------------------------------------------------


def test_invalid_project_name(stack: Stack) -> None:
    problem = one(validate(replace(stack, project="My Stack"), Observed()))
    assert problem.where == "stack.py: project"
    assert "'My Stack'" in problem.message
    assert "Stack.project" in problem.fix


def test_where_names_the_declaring_file(stack: Stack) -> None:
    problem = one(validate(replace(stack, project="UPPER", source="staging.py"), Observed()))
    assert problem.where == "staging.py: project"


# --- subnets ----------------------------------------------------------------------------


def test_malformed_subnet(stack: Stack) -> None:
    bad = with_network(stack, "services", subnet="10.9.300.0/24")
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: networks.services.subnet"
    assert "'10.9.300.0/24' is not a valid subnet" in problem.message
    assert "CIDR" in problem.fix


def test_subnet_with_host_bits_set(stack: Stack) -> None:
    problem = one(validate(with_network(stack, "services", subnet="10.9.20.1/24"), Observed()))
    assert problem.where == "stack.py: networks.services.subnet"
    assert "host bits set" in problem.message
    assert "host bits zero" in problem.fix


def test_subnet_too_small(stack: Stack) -> None:
    problem = one(validate(with_network(stack, "services", subnet="10.9.20.0/31"), Observed()))
    assert problem.where == "stack.py: networks.services.subnet"
    assert "too small" in problem.message


def test_overlapping_declared_subnets(stack: Stack) -> None:
    problem = one(validate(with_network(stack, "services", subnet="10.9.10.128/25"),
                           Observed()))
    assert problem.where == "stack.py: networks.services.subnet"
    assert "overlaps 10.9.10.0/24 of network 'isolated'" in problem.message
    assert "its own range" in problem.fix


def test_overlap_with_an_existing_docker_network(stack: Stack) -> None:
    observed = Observed(networks=[ObservedNetwork("other-app_default", "id1", ["10.9.20.0/25"])])
    problem = one(validate(stack, observed))
    assert problem.where == "stack.py: networks.services.subnet"
    assert "existing docker network 'other-app_default'" in problem.message
    assert "10.9.20.0/25" in problem.message
    assert "a free range, e.g. 10.9.21.0/24" in problem.fix


def test_own_network_with_the_declared_subnet_is_fine(stack: Stack) -> None:
    observed = Observed(networks=[
        ObservedNetwork("demo-services", "id1", ["10.9.20.0/24"]),
        ObservedNetwork("demo-isolated", "id2", ["10.9.10.0/24"], internal=True),
        ObservedNetwork("bridge", "id3", ["172.17.0.0/16"]),
    ])
    assert validate(stack, observed) == []


def test_own_network_existing_with_a_different_subnet(stack: Stack) -> None:
    observed = Observed(networks=[ObservedNetwork("demo-services", "id1", ["10.9.30.0/24"])])
    problem = one(validate(stack, observed))
    assert problem.where == "stack.py: networks.services.subnet"
    assert "demo-services already exists with subnet 10.9.30.0/24" in problem.message
    assert "declared 10.9.20.0/24" in problem.message
    assert "--recreate-networks" in problem.fix
    assert "10.9.30.0/24" in problem.fix


def test_gateway_outside_the_subnet(stack: Stack) -> None:
    problem = one(validate(with_network(stack, "services", gateway="10.9.21.1"), Observed()))
    assert problem.where == "stack.py: networks.services.gateway"
    assert "not a host address of 10.9.20.0/24" in problem.message


def test_unparsable_gateway_is_reported_not_raised(stack: Stack) -> None:
    # Services have fixed addresses on this network: checking them must not crash.
    problem = one(validate(with_network(stack, "services", gateway="router"), Observed()))
    assert problem.where == "stack.py: networks.services.gateway"
    assert "'router' is not an IP address" in problem.message


# --- fixed addresses --------------------------------------------------------------------


def test_fixed_address_outside_its_subnet(stack: Stack) -> None:
    bad = with_service(stack, "php", networks={"services": "10.9.21.4", "isolated": 4})
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: services.php.networks.services"
    assert "address 10.9.21.4 is outside the subnet 10.9.20.0/24" in problem.message
    assert "inside 10.9.20.0/24" in problem.fix


def test_host_number_beyond_the_subnet(stack: Stack) -> None:
    problem = one(validate(with_service(stack, "proxy", networks={"services": 300}), Observed()))
    assert problem.where == "stack.py: services.proxy.networks.services"
    assert "outside the subnet" in problem.message


def test_address_equal_to_the_network_address(stack: Stack) -> None:
    problem = one(validate(with_service(stack, "proxy", networks={"services": 0}), Observed()))
    assert problem.where == "stack.py: services.proxy.networks.services"
    assert "10.9.20.0 is the network address" in problem.message
    assert "10.9.20.2" in problem.fix


def test_address_equal_to_the_default_gateway(stack: Stack) -> None:
    # Docker gives a bridge network its first host address unless told otherwise.
    problem = one(validate(with_service(stack, "proxy", networks={"services": 1}), Observed()))
    assert problem.where == "stack.py: services.proxy.networks.services"
    assert "10.9.20.1 is the gateway" in problem.message


def test_address_equal_to_a_declared_gateway(stack: Stack) -> None:
    declared = with_network(stack, "services", gateway="10.9.20.254")
    problem = one(validate(with_service(declared, "proxy", networks={"services": 254}),
                           Observed()))
    assert problem.where == "stack.py: services.proxy.networks.services"
    assert "10.9.20.254 is the gateway" in problem.message
    # With the gateway moved, the first host address is free for a container.
    assert validate(with_service(declared, "proxy", networks={"services": 1}),
                    Observed()) == []


def test_address_equal_to_the_broadcast_address(stack: Stack) -> None:
    bad = with_service(stack, "proxy", networks={"services": "10.9.20.255"})
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: services.proxy.networks.services"
    assert "10.9.20.255 is the broadcast address" in problem.message


def test_duplicate_addresses_on_one_network(stack: Stack) -> None:
    # php is .4 on services; proxy (declared later) takes .4 too.
    problem = one(validate(with_service(stack, "proxy", networks={"services": 4}), Observed()))
    assert problem.where == "stack.py: services.proxy.networks.services"
    assert "address 10.9.20.4 is also given to service 'php'" in problem.message
    assert "its own address" in problem.fix


def test_same_host_number_on_different_networks_is_fine(stack: Stack) -> None:
    # php is .4 on both networks in the fixture already.
    assert stack.service("php").networks == {"services": 4, "isolated": 4}
    assert validate(stack, Observed()) == []


# --- host ports ---------------------------------------------------------------------------


def admin(*ports: Port) -> Service:
    """A second service publishing ports, to collide with the proxy's 8080/8443."""
    return Service("admin", image="proxy", networks={"services": 9}, ports=ports)


def test_duplicate_host_port_on_the_same_address(stack: Stack) -> None:
    problem = one(validate(add_service(stack, admin(Port(8080, 80))), Observed()))
    assert problem.where == "stack.py: services.admin.ports[0]"
    assert "host port 127.0.0.1:8080/tcp is also published by service 'proxy'" \
        in problem.message
    assert "publish each host port once" in problem.fix


def test_wildcard_address_conflicts_with_loopback(stack: Stack) -> None:
    bad = add_service(stack, admin(Port(9000, 80), Port(8443, 443, address="0.0.0.0")))
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: services.admin.ports[1]"
    assert "0.0.0.0:8443/tcp is also published by service 'proxy'" in problem.message


def test_different_protocols_do_not_conflict(stack: Stack) -> None:
    ok = add_service(stack, admin(Port(8080, 53, protocol="udp")))
    assert validate(ok, Observed()) == []


def test_different_specific_addresses_do_not_conflict(stack: Stack) -> None:
    ok = add_service(stack, admin(Port(8080, 80, address="127.0.0.2")))
    assert validate(ok, Observed()) == []


def test_host_port_already_in_use(stack: Stack) -> None:
    problem = one(validate(stack, Observed(busy_ports=[("127.0.0.1", 8443, "tcp")])))
    assert problem.where == "stack.py: services.proxy.ports[1]"
    assert "127.0.0.1:8443/tcp is already in use" in problem.message
    assert "choose another port" in problem.fix


def test_port_out_of_range_and_bad_protocol(stack: Stack) -> None:
    bad = with_service(stack, "proxy", ports=[Port(70000, 80, protocol="sctp")])
    problems = validate(bad, Observed())
    assert {p.where for p in problems} == {"stack.py: services.proxy.ports[0]"}
    messages = " | ".join(p.message for p in problems)
    assert "host port 70000 is out of range" in messages
    assert "unknown protocol 'sctp'" in messages


# --- files in the repository --------------------------------------------------------------


def test_missing_build_context(stack: Stack, repo: Path) -> None:
    shutil.rmtree(repo / "images" / "proxy")
    problem = one(validate(stack, Observed()))
    assert problem.where == "stack.py: images.proxy.context"
    assert "build context images/proxy/ does not exist" in problem.message
    assert "create images/proxy/" in problem.fix


def test_missing_dockerfile(stack: Stack, repo: Path) -> None:
    (repo / "images" / "proxy" / "Dockerfile").unlink()
    problem = one(validate(stack, Observed()))
    assert problem.where == "stack.py: images.proxy.dockerfile"
    assert "images/proxy/Dockerfile does not exist" in problem.message
    assert "add Dockerfile to images/proxy/" in problem.fix


def test_custom_context_and_dockerfile_are_checked(stack: Stack, repo: Path) -> None:
    custom = replace(stack, images=[*stack.images,
                                    Image("tools", context="build/tools",
                                          dockerfile="Containerfile")])
    (repo / "build" / "tools").mkdir(parents=True)
    problem = one(validate(custom, Observed()))
    assert problem.where == "stack.py: images.tools.dockerfile"
    assert "build/tools/Containerfile does not exist" in problem.message


def test_missing_bind_mount_source(stack: Stack, repo: Path) -> None:
    shutil.rmtree(repo / "config" / "proxy")
    problem = one(validate(stack, Observed()))
    assert problem.where == "stack.py: services.proxy.mounts[0]"
    assert "mount source config/proxy does not exist" in problem.message
    assert "create config/proxy" in problem.fix


def test_bind_mount_source_outside_the_repository(stack: Stack) -> None:
    bad = with_service(stack, "proxy", mounts=[Bind("../etc", "/etc/nginx")])
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: services.proxy.mounts[0]"
    assert "outside the repository" in problem.message


# --- references between declarations ---------------------------------------------------


def test_unknown_network(stack: Stack) -> None:
    bad = with_service(stack, "proxy", networks={"services": 3, "frontend": None})
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: services.proxy.networks.frontend"
    assert "unknown network 'frontend'" in problem.message
    assert "isolated, services" in problem.fix


def test_unknown_service_in_depends_on(stack: Stack) -> None:
    problem = one(validate(with_service(stack, "php", depends_on=["db", "cache"]), Observed()))
    assert problem.where == "stack.py: services.php.depends_on"
    assert "unknown service 'cache'" in problem.message


def test_unknown_image(stack: Stack) -> None:
    bad = add_service(stack, Service("cache", image="redis:7"))
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: services.cache.image"
    assert "unknown image 'redis:7'" in problem.message
    assert "db, php, proxy" in problem.fix


def test_external_image_present_on_the_engine_is_fine(stack: Stack) -> None:
    ok = add_service(stack, Service("cache", image="redis:7"))
    observed = Observed(images={"redis:7": ObservedImage("redis:7", "sha256:r")})
    assert validate(ok, observed) == []


def test_unknown_volume(stack: Stack) -> None:
    bad = with_service(stack, "db", mounts=[VolumeMount("pgdata", "/var/lib/db")])
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: services.db.mounts[0]"
    assert "unknown volume 'pgdata'" in problem.message
    assert "Volume('pgdata')" in problem.fix


def test_unknown_secret(stack: Stack) -> None:
    bad = with_service(stack, "db", mounts=[SecretMount("api_token")])
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: services.db.mounts[0]"
    assert "unknown secret 'api_token'" in problem.message
    assert "Secret('api_token')" in problem.fix


def test_two_mounts_at_one_path(stack: Stack) -> None:
    bad = with_service(stack, "php", mounts=[Bind("www/site", "/srv"), Bind("www", "/srv")])
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: services.php.mounts"
    assert "two mounts at /srv" in problem.message


# --- dependencies -------------------------------------------------------------------------


def test_two_service_dependency_cycle(stack: Stack) -> None:
    bad = with_service(stack, "db", depends_on=["php"])
    problem = one(validate(bad, Observed()))
    assert problem.where == "stack.py: services.db.depends_on"
    assert problem.message == "dependency cycle: db -> php -> db"
    assert "remove one" in problem.fix


def test_longer_dependency_cycles_are_each_reported(stack: Stack) -> None:
    # db -> proxy, and proxy -> php -> db as well as proxy -> app -> db.
    problems = validate(with_service(stack, "db", depends_on=["proxy"]), Observed())
    assert {p.where for p in problems} == {"stack.py: services.db.depends_on"}
    assert sorted(p.message for p in problems) == [
        "dependency cycle: db -> proxy -> app -> db",
        "dependency cycle: db -> proxy -> php -> db",
    ]


def test_self_dependency(stack: Stack) -> None:
    problem = one(validate(with_service(stack, "db", depends_on=["db"]), Observed()))
    assert problem.where == "stack.py: services.db.depends_on"
    assert "cannot depend on itself" in problem.message


def test_startup_order_is_in_waves(stack: Stack) -> None:
    assert startup_order(stack) == [["db"], ["app", "php"], ["proxy"]]


# --- limits -------------------------------------------------------------------------------


def test_bad_memory_size(stack: Stack) -> None:
    problem = one(validate(with_service(stack, "db", limits=Limits(memory="lots")), Observed()))
    assert problem.where == "stack.py: services.db.limits.memory"
    assert "'lots' is not a size" in problem.message
    assert "64m" in problem.fix


def test_memory_below_dockers_minimum(stack: Stack) -> None:
    problem = one(validate(with_service(stack, "db", limits=Limits(memory="4m")), Observed()))
    assert problem.where == "stack.py: services.db.limits.memory"
    assert "minimum of 6m" in problem.message


def test_unknown_restart_policy(stack: Stack) -> None:
    problem = one(validate(with_service(stack, "db", restart="sometimes"), Observed()))
    assert problem.where == "stack.py: services.db.restart"
    assert "unless-stopped" in problem.fix


# --- all at once --------------------------------------------------------------------------


def test_every_problem_is_reported_at_once(stack: Stack, repo: Path) -> None:
    (repo / "images" / "php" / "Dockerfile").unlink()
    bad = replace(
        with_service(stack, "db", limits=Limits(memory="big")),
        project="Bad Name",
    )
    problems = validate(bad, Observed())
    assert len(problems) == 3, "\n".join(map(str, problems))
    assert {p.where for p in problems} == {
        "stack.py: project",
        "stack.py: images.php.dockerfile",
        "stack.py: services.db.limits.memory",
    }


def test_duplicate_declarations(stack: Stack) -> None:
    bad = replace(stack, networks=[*stack.networks, Network("services", "10.9.30.0/24")])
    problems = validate(bad, Observed())
    assert "stack.py: networks.services" in {p.where for p in problems}
    assert any(p.message == "declared more than once" for p in problems)
