"""Rollback (issue #9 item 6), on a deployed scratch copy of the example: a deploy keeps
each service's release (container spec and image, tagged), `invoke rollback` goes back to
the previous one start-first under requests every 20 ms with no failed request, `invoke
history` shows it, and only the newest `keep_images` releases keep their tags."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import docker
import pytest

from .conftest import Copy, deployed_copy
from .test_deploy import get
from .test_update import Requests, expected, names

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def released(client: docker.DockerClient, stale_cleaned: None,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    yield from deployed_copy(client, tmp_path_factory, "rollback")


def release_tags(client: docker.DockerClient, copy: Copy, service: str) -> list[str]:
    prefix = f"{copy.project}/releases:{service}-"
    return sorted(tag for image in client.api.images() for tag in image.get("RepoTags") or []
                  if tag.startswith(prefix))


def version(copy: Copy) -> str:
    status, body = get(copy, "app.localhost")
    found = re.search(r"version: ([^<\s]+)", body)
    assert status == 200 and found and "database: ok" in body, body
    return found.group(1)


def test_each_service_keeps_its_first_release(client: docker.DockerClient,
                                              released: Copy) -> None:
    for service in ("proxy", "php", "app", "db"):
        assert release_tags(client, released, service) == \
            [f"{released.project}/releases:{service}-1"]
    record = released.root / ".pojemnik" / released.project / "releases" / "app.json"
    assert oct(record.stat().st_mode & 0o777) == "0o600"


def test_a_rollback_serves_the_previous_version_without_a_failed_request(
        client: docker.DockerClient, released: Copy) -> None:
    released.invoke("deploy", extra_env={"APP_VERSION": "2"})
    assert version(released) == "2"
    dry = released.invoke("rollback", "--dry").stdout
    assert re.search(rf"recreate\s+{released.project}-app\s+rollback to release 1 \(.*\): "
                     r"environment \(start-first\)", dry), dry
    assert "APP_VERSION=1" not in " ".join(client.api.inspect_container(
        f"{released.project}-app")["Config"]["Env"])  # --dry changed nothing
    with Requests(released, "app.localhost", "database: ok") as requests:
        result = released.invoke("rollback")
    assert requests.failures == []
    assert "app rolled back to release 1" in result.stdout
    assert "the next `invoke deploy` goes forward" in result.stdout
    assert version(released) == "1"
    assert names(client, released) == expected(released)  # no -next left
    log = json.loads(released.invoke("history", "--json").stdout)["log"]
    assert (log[-1]["kind"], log[-1]["result"]) == ("rollback", "ok")
    assert log[-1]["summary"].startswith("app to release 1 (")
    assert re.search(r"rollback\s+ok\s+app to release 1", released.invoke("history").stdout)
    # stack.py declares version 1: as rolled back, nothing to do; version 2 goes forward.
    assert "nothing to do" in released.invoke("plan").stdout
    with Requests(released, "app.localhost", "database: ok") as requests:
        released.invoke("deploy", extra_env={"APP_VERSION": "2"})
    assert requests.failures == []
    assert version(released) == "2"
    assert release_tags(client, released, "app") == \
        [f"{released.project}/releases:app-{n}" for n in (1, 2)]  # release 2 again


def test_nothing_to_roll_back_to_changes_nothing(client: docker.DockerClient,
                                                 released: Copy) -> None:
    before = {c["Id"] for c in client.api.containers(
        all=True, filters={"label": f"pojemnik.project={released.project}"})}
    result = released.invoke("rollback", "--name", "db", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "db: release 1, running, is the oldest kept (keep_images=5)" in result.stderr
    assert "Nothing was changed" in result.stderr
    unknown = released.invoke("rollback", "--name", "nosuch", check=False)
    assert unknown.returncode == 2 and "unknown service 'nosuch'" in unknown.stderr
    after = {c["Id"] for c in client.api.containers(
        all=True, filters={"label": f"pojemnik.project={released.project}"})}
    assert after == before


def test_only_the_newest_releases_keep_their_image_tags(client: docker.DockerClient,
                                                        released: Copy) -> None:
    """keep_images=5 (the default): releases 1 and 2 exist; after four more, 1 goes."""
    for number in ("3", "4", "5", "6"):
        released.invoke("deploy", extra_env={"APP_VERSION": number})
    assert release_tags(client, released, "app") == \
        [f"{released.project}/releases:app-{n}" for n in (2, 3, 4, 5, 6)]
    kept = json.loads(released.invoke("history", "--json").stdout)["releases"]
    assert [(r["release"], r["running"]) for r in kept if r["service"] == "app"] == \
        [(2, False), (3, False), (4, False), (5, False), (6, True)]
    assert version(released) == "6"


def test_after_a_failed_db_update_rollback_restores_the_version_that_served(
        client: docker.DockerClient, released: Copy) -> None:
    """A stop-first update of the database whose new container never gets ready: the
    old one is gone, and `rollback` (no name) puts back exactly the release that served,
    with the data in its volume."""
    db = f"{released.project}-db"
    psql = ["psql", "-v", "ON_ERROR_STOP=1", "-h", "/run/postgresql", "-U", "postgres", "-d",
            "app", "-tAc"]
    marker = f"served-{released.project}"
    write = client.containers.get(db).exec_run(
        [*psql, f"CREATE TABLE IF NOT EXISTS served (v text); INSERT INTO served "
                f"VALUES ('{marker}')"])
    assert write.exit_code == 0, write.output
    served = client.api.inspect_container(db)["Config"]["Labels"]["pojemnik.spec-hash"]
    app_version = version(released)
    stack_file = released.root / "stack.py"
    declared = stack_file.read_text()
    broken = declared.replace(
        'stop_signal="SIGINT", stop_grace=30,',
        'stop_signal="SIGINT", stop_grace=30, ready_timeout=15.0, '
        'healthcheck=Healthcheck(["false"], interval=1.0, retries=1, start_period=0.0),', 1)
    assert broken != declared
    stack_file.write_text(broken.replace("from pojemnik import (",
                                         "from pojemnik import (\n    Healthcheck,", 1))
    try:
        # Only db changes: the app keeps the version an earlier test left running.
        failed = released.invoke("deploy", check=False, extra_env={"APP_VERSION": app_version})
        assert failed.returncode != 0, failed.stdout
        assert "release db 1: no longer running after this failed deploy" in failed.stdout
        result = released.invoke("rollback")
    finally:
        stack_file.write_text(declared)
    assert "db rolled back to release 1" in result.stdout, result.stdout
    assert "app rolled back" not in result.stdout  # only what the failed deploy broke
    assert client.api.inspect_container(db)["Config"]["Labels"]["pojemnik.spec-hash"] \
        == served
    read = client.containers.get(db).exec_run([*psql, "SELECT v FROM served"])
    assert read.exit_code == 0 and marker in read.output.decode()
    assert version(released) == app_version  # the app, on the database again
    assert "nothing to do" in released.invoke(
        "plan", extra_env={"APP_VERSION": app_version}).stdout
