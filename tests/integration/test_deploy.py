"""Deploy the example for real with `invoke deploy`, and check it through the proxy."""

from __future__ import annotations

import http.client
import json
import ssl
import time

import docker
import pytest

from .conftest import Copy

pytestmark = pytest.mark.integration


def get(copy: Copy, host: str, path: str = "/", https: bool = False) -> tuple[int, str]:
    if https:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", copy.https_port, timeout=30, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", copy.http_port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def container(client: docker.DockerClient, copy: Copy, service: str) -> dict:
    return client.api.inspect_container(f"{copy.project}-{service}")


def docker_health(client: docker.DockerClient, copy: Copy, service: str) -> str:
    """Docker's own health status, once it left "starting" (bounded: 300 polls)."""
    status = "starting"
    for _ in range(300):
        status = container(client, copy, service)["State"]["Health"]["Status"]
        if status != "starting":
            break
        time.sleep(0.5)
    return str(status)


@pytest.mark.parametrize("host", ["updates.localhost", "packages.localhost"])
def test_static_sites_are_served_by_the_proxy(deployed: Copy, host: str) -> None:
    status, body = get(deployed, host)
    assert status == 200
    assert host in body


@pytest.mark.parametrize("host", ["php.localhost", "app.localhost"])
def test_php_and_django_query_the_database(deployed: Copy, host: str) -> None:
    status, body = get(deployed, host)
    assert status == 200, body
    assert "database: ok" in body


def test_https_serves_with_the_generated_certificate(deployed: Copy) -> None:
    status, body = get(deployed, "app.localhost", https=True)
    assert status == 200
    assert "database: ok" in body
    pem = ssl.get_server_certificate(("127.0.0.1", deployed.https_port))
    assert "BEGIN CERTIFICATE" in pem


def test_networks_follow_the_declaration(client: docker.DockerClient, deployed: Copy) -> None:
    isolated = f"{deployed.project}-isolated"
    services = f"{deployed.project}-services"
    proxy = container(client, deployed, "proxy")["NetworkSettings"]["Networks"]
    assert set(proxy) == {services}, "the proxy must not be on the isolated network"
    prefix = deployed.services.rsplit(".", 1)[0]
    assert proxy[services]["IPAddress"] == f"{prefix}.3"
    assert set(container(client, deployed, "db")["NetworkSettings"]["Networks"]) == {isolated}
    for service in ("php", "app"):
        attached = container(client, deployed, service)["NetworkSettings"]["Networks"]
        assert set(attached) == {isolated, services}
    assert client.api.inspect_network(isolated)["Internal"] is True


def test_containers_are_hardened(client: docker.DockerClient, deployed: Copy) -> None:
    for service in ("proxy", "php", "app", "db"):
        info = container(client, deployed, service)
        host = info["HostConfig"]
        assert host["ReadonlyRootfs"], service
        assert host["CapDrop"] == ["ALL"], service
        assert "no-new-privileges:true" in host["SecurityOpt"], service
        assert host["Memory"] > 0 and host["PidsLimit"] > 0 and host["NanoCpus"] > 0, service
        assert host["RestartPolicy"]["Name"] == "unless-stopped", service
        assert not host["Privileged"], service
        user = info["Config"]["User"]
        assert user and user.split(":")[0] not in ("0", "root"), f"{service} runs as root"
        # Deploy returns once each service's own health command passes; Docker's health
        # status (monitoring) follows on its own clock.
        assert docker_health(client, deployed, service) == "healthy", service
        labels = info["Config"]["Labels"]
        assert labels["pojemnik.project"] == deployed.project
        assert labels["pojemnik.service"] == service


def test_only_the_declared_ports_are_published(client: docker.DockerClient,
                                              deployed: Copy) -> None:
    published = {}
    for service in ("proxy", "php", "app", "db"):
        ports = container(client, deployed, service)["NetworkSettings"]["Ports"] or {}
        published[service] = {k: v for k, v in ports.items() if v}
    assert published["php"] == published["app"] == published["db"] == {}
    assert published["proxy"] == {
        "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(deployed.http_port)}],
        "8443/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(deployed.https_port)}],
    }


def test_second_deploy_changes_nothing(client: docker.DockerClient, deployed: Copy) -> None:
    before = {s: container(client, deployed, s)["Id"] for s in ("proxy", "php", "app", "db")}
    result = deployed.invoke("deploy")
    assert "built 0, created 0, recreated 0, started 0" in result.stdout
    assert "nothing to do" in result.stdout
    after = {s: container(client, deployed, s)["Id"] for s in ("proxy", "php", "app", "db")}
    assert before == after


def test_listing_tasks(deployed: Copy) -> None:
    ps = json.loads(deployed.invoke("ps", "--json").stdout)
    assert {row["service"] for row in ps} == {"proxy", "php", "app", "db"}
    assert all(row["state"] == "running" for row in ps)
    assert f"{deployed.project}-proxy" in deployed.invoke("ps").stdout
    images = json.loads(deployed.invoke("images.list", "--json").stdout)
    tags = {tag for row in images for tag in row["tags"]}
    assert f"{deployed.project}/proxy:latest" in tags
    logs = deployed.invoke("logs", "--name", "db", "--tail", "all").stdout
    assert logs.strip(), "the database logs something when it starts"


def test_plan_as_bash_is_a_valid_script(deployed: Copy) -> None:
    import subprocess

    deployed.invoke("down")
    try:
        script = deployed.invoke("plan", "--format", "bash").stdout
        assert "docker network create --driver=bridge" in script
        assert f"--subnet={deployed.services}" in script
        subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    finally:
        deployed.invoke("deploy")


def test_down_keeps_the_database(client: docker.DockerClient, deployed: Copy) -> None:
    db = f"{deployed.project}-db"
    marker = f"kept-{deployed.project}"
    psql = ["psql", "-v", "ON_ERROR_STOP=1", "-h", "/run/postgresql", "-U", "postgres", "-d",
            "app", "-tAc"]
    write = client.containers.get(db).exec_run(
        [*psql, f"CREATE TABLE IF NOT EXISTS keep (v text); INSERT INTO keep VALUES ('{marker}')"])
    assert write.exit_code == 0, write.output

    down = deployed.invoke("down")
    assert "volumes kept" in down.stdout
    assert not client.api.containers(all=True,
                                     filters={"label": f"pojemnik.project={deployed.project}"})
    assert not client.api.networks(filters={"label": f"pojemnik.project={deployed.project}"})
    assert client.api.inspect_volume(f"{deployed.project}-dbdata")

    deployed.invoke("deploy")
    read = client.containers.get(db).exec_run([*psql, "SELECT v FROM keep"])
    assert read.exit_code == 0, read.output
    assert marker in read.output.decode()
    status, body = get(deployed, "php.localhost")
    assert status == 200 and "database: ok" in body
