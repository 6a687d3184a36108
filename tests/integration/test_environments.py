"""Environments for real: the example deployed twice on one engine, as the default
environment and as staging (`POJEMNIK_ENV=staging`, `.env.staging` moving its ports and
subnets); both serve, a third whose ports and subnets collide is refused naming both, and
`down --volumes` of staging leaves the default one serving with its volumes."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from .conftest import (
    MADE,
    TEST_PREFIX,
    Copy,
    copy_example,
    free_port,
    free_subnets,
    remove_projects,
)
from .test_deploy import get

pytestmark = pytest.mark.integration

# Settings the test writes into the files, so none may come from the process environment
# (it wins over every file).
SETTINGS = ("POJEMNIK_ENV", "POJEMNIK_PROJECT", "HTTP_PORT", "HTTPS_PORT", "PUBLISH_ADDRESS",
            "ISOLATED_SUBNET", "SERVICES_SUBNET")


def env_file(http: int, https: int, isolated: str, services: str) -> str:
    return (f"HTTP_PORT={http}\nHTTPS_PORT={https}\nISOLATED_SUBNET={isolated}\n"
            f"SERVICES_SUBNET={services}\n")


@pytest.fixture(scope="module")
def environments(client: docker.DockerClient, stale_cleaned: None,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Copy, Copy]]:
    """The default environment (from `.env`) and staging (`.env.staging`), deployed."""
    root = copy_example(tmp_path_factory.mktemp("environments"))
    project = f"{TEST_PREFIX}{secrets.token_hex(3)}"
    MADE.update({project, f"{project}-staging"})
    nets = free_subnets(client, 4)
    ports = [free_port() for _ in range(4)]
    (root / ".env").write_text(f"POJEMNIK_PROJECT={project}\nPUBLISH_ADDRESS=127.0.0.1\n"
                               + env_file(ports[0], ports[1], nets[0], nets[1]))
    (root / ".env.staging").write_text(env_file(ports[2], ports[3], nets[2], nets[3]))
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    default = Copy(project, root, base, ports[0], ports[1], nets[0], nets[1])
    staging = Copy(f"{project}-staging", root, {**base, "POJEMNIK_ENV": "staging"},
                   ports[2], ports[3], nets[2], nets[3])
    try:
        default.invoke("deploy")
        staging.invoke("deploy")
        yield default, staging
    finally:
        remove_projects(client, project)  # and project-staging, project-clash
        shutil.rmtree(root, ignore_errors=True)


def labelled(client: docker.DockerClient, project: str) -> dict[str, list[str]]:
    label = {"label": f"pojemnik.project={project}"}
    return {"containers": sorted(c["Names"][0].lstrip("/") for c in
                                 client.api.containers(all=True, filters=label)),
            "networks": sorted(n["Name"] for n in client.api.networks(filters=label)),
            "volumes": sorted(v["Name"] for v in
                              client.api.volumes(filters=label).get("Volumes") or [])}


def test_staging_and_the_default_environment_both_serve(
        environments: tuple[Copy, Copy]) -> None:
    for copy in environments:
        for host in ("app.localhost", "php.localhost"):
            status, body = get(copy, host)
            assert status == 200, (copy.project, host, body)
            assert "database: ok" in body


def test_environments_share_no_object_and_no_secret(
        client: docker.DockerClient, environments: tuple[Copy, Copy]) -> None:
    default, staging = environments
    ours, theirs = labelled(client, default.project), labelled(client, staging.project)
    assert f"{staging.project}-proxy" in theirs["containers"]
    assert f"{staging.project}-dbdata" in theirs["volumes"]
    for kind, names in ours.items():
        assert names and not set(names) & set(theirs[kind]), kind
    secret = Path(".secrets") / "{}" / "db_password"
    assert ((default.root / str(secret).format(default.project)).read_bytes()
            != (staging.root / str(secret).format(staging.project)).read_bytes())


def test_environments_colliding_with_a_running_one_are_refused(
        client: docker.DockerClient, environments: tuple[Copy, Copy]) -> None:
    default, _ = environments
    (default.root / ".env.clash").write_text(
        env_file(default.http_port, free_port(), default.isolated, default.services))
    clash = Copy(f"{default.project}-clash", default.root,
                 {**default.env, "POJEMNIK_ENV": "clash"}, 0, 0, "", "")
    result = clash.invoke("deploy", check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    said = result.stderr + result.stdout
    assert "nothing was changed" in said
    # Both named: the running stack's network and proxy, the refused environment.
    assert f"of existing docker network '{default.project}-services'" in said
    assert f"published by container '{default.project}-proxy'" in said
    assert (f"the stack of project '{default.project}'; '{clash.project}' would collide"
            in said)
    assert "(from SERVICES_SUBNET, .env.clash:4)" in said
    assert "choose another port (HTTP_PORT in .env.clash)" in said
    assert labelled(client, clash.project) == {"containers": [], "networks": [],
                                               "volumes": []}


def psql(client: docker.DockerClient, copy: Copy, sql: str, database: str = "app") -> str:
    code, output = client.containers.get(f"{copy.project}-db").exec_run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql])
    assert code == 0, output
    return str(output.decode().strip())


PEOPLE = "SELECT id, email FROM people ORDER BY id"


def test_a_staging_refresh_copies_production_rows_and_runs_the_scrub(
        client: docker.DockerClient, environments: tuple[Copy, Copy]) -> None:
    default, staging = environments
    psql(client, default, "CREATE TABLE people (id int PRIMARY KEY, email text); "
         "INSERT INTO people VALUES (1, 'ann@real.example'), (2, 'bob@real.example')")
    production = psql(client, default, PEOPLE)
    # Into production: refused without the named flag, nothing changed.
    refused = default.invoke("data.refresh", "--source", "staging", check=False)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--overwrite-production" in refused.stderr
    assert psql(client, default, PEOPLE) == production
    (staging.root / "scrub.sql").write_text(
        "UPDATE people SET email = id || '@example.invalid';\n")
    with (staging.root / ".env.staging").open("a") as env:
        env.write("POJEMNIK_REFRESH_SCRUB=scrub.sql\n")
    result = staging.invoke("data.refresh")
    assert "scrubbed with scrub.sql" in result.stdout + result.stderr
    assert psql(client, staging, PEOPLE) == "1|1@example.invalid\n2|2@example.invalid"
    assert psql(client, default, PEOPLE) == production
    status, body = get(staging, "app.localhost")
    assert status == 200 and "database: ok" in body


def test_a_failed_scrub_leaves_stagings_database_as_it_was(
        client: docker.DockerClient, environments: tuple[Copy, Copy]) -> None:
    _, staging = environments
    before = psql(client, staging, PEOPLE)
    (staging.root / "bad-scrub.sql").write_text("UPDATE nowhere SET email = '';\n")
    result = staging.invoke("data.refresh", "--scrub", "bad-scrub.sql", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the scrub failed, so the refreshed copy was dropped" in result.stderr
    assert psql(client, staging, PEOPLE) == before
    assert "app_incoming" not in psql(client, staging, "SELECT datname FROM pg_database",
                                      "postgres")


def in_volume(client: docker.DockerClient, volume: str, script: str) -> str:
    output = client.containers.run("debian:bookworm-slim", ["sh", "-c", script], remove=True,
                                   volumes={volume: {"bind": "/v", "mode": "rw"}},
                                   network_mode="none")
    return str(output.decode().strip())


def test_a_staging_refresh_copies_a_chosen_volume_verified_and_staging_still_serves(
        client: docker.DockerClient, environments: tuple[Copy, Copy]) -> None:
    default, staging = environments
    theirs, ours = (f"{copy.project}-acme-webroot" for copy in (default, staging))
    in_volume(client, theirs, "mkdir -p /v/deep && echo production > /v/deep/file && "
              "chmod 0640 /v/deep/file && chown 33:33 /v/deep/file")
    in_volume(client, ours, "echo staging-only > /v/old")
    proxy = client.api.inspect_container(f"{staging.project}-proxy")["Id"]
    # The database's own files are refused (pg_dump copies it), and a typo named.
    refused = staging.invoke("data.refresh", "--no-database", "--volume", "dbdata",
                             check=False)
    assert refused.returncode == 2 and "pg_dump" in refused.stderr, refused.stderr
    typo = staging.invoke("data.refresh", "--no-database", "--volume", "acme-webroto",
                          check=False)
    assert typo.returncode == 2 and "acme-webroot" in typo.stderr, typo.stderr
    assert in_volume(client, ours, "cat /v/old") == "staging-only"
    result = staging.invoke("data.refresh", "--no-database", "--volume", "acme-webroot")
    said = result.stdout + result.stderr
    assert re.search(r"\d+ files copied from \S+ and verified", said), said
    listing = "cd /v && find . | sort && stat -c '%a %u:%g' deep/file && cat deep/file"
    assert in_volume(client, ours, listing) == in_volume(client, theirs, listing)
    assert in_volume(client, ours, "test -e /v/old || echo gone") == "gone"  # replaced
    assert in_volume(client, theirs, "cat /v/deep/file") == "production"  # only read
    assert client.api.inspect_container(f"{staging.project}-proxy")["Id"] == proxy
    status, body = get(staging, "app.localhost")
    assert status == 200 and "database: ok" in body


def test_down_volumes_of_staging_leaves_the_default_environment_serving(
        client: docker.DockerClient, environments: tuple[Copy, Copy]) -> None:
    default, staging = environments
    before = labelled(client, default.project)
    staging.invoke("down", "--volumes")
    assert labelled(client, staging.project) == {"containers": [], "networks": [],
                                                 "volumes": []}
    assert labelled(client, default.project) == before
    status, body = get(default, "app.localhost")
    assert status == 200 and "database: ok" in body
