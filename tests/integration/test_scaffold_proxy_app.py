"""`pojemnik init --template proxy-app`, deployed for real as is: the app answers through
the proxy and counts in Redis; the worker (no HTTP port) does queued jobs, and its
heartbeat healthcheck passes, and fails while Redis does not answer; an edited app is
replaced start-first behind the proxy; `invoke down --volumes` leaves nothing behind."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator

import docker
import pytest

from .conftest import MADE, TEST_PREFIX, free_port, free_subnets, remove_projects
from .test_scaffold import POJEMNIK, Made

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def made(client: docker.DockerClient, stale_cleaned: None,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    """A proxy-app project made by `pojemnik init`, as project pjtest-*; removed whatever
    happens."""
    root = tmp_path_factory.mktemp("init") / "api"
    result = subprocess.run([str(POJEMNIK), "init", str(root), "--template", "proxy-app"],
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    project = f"{TEST_PREFIX}{secrets.token_hex(3)}"
    MADE.add(project)
    port = free_port()
    front, backend = free_subnets(client, 2)
    env = {**os.environ, "POJEMNIK_PROJECT": project, "HTTP_PORT": str(port),
           "FRONT_SUBNET": front, "BACKEND_SUBNET": backend, "PUBLISH_ADDRESS": "127.0.0.1"}
    try:
        yield Made(project, root, port, front, env)
    finally:
        remove_projects(client, project)


def request(port: int, method: str = "GET", path: str = "/", body: bytes | None = None
            ) -> tuple[int, dict[str, object]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        body = response.read()
        if response.getheader("Content-Type") != "application/json":
            return response.status, {"body": body.decode(errors="replace")}  # nginx's 502
        return response.status, json.loads(body)
    finally:
        conn.close()


def health(client: docker.DockerClient, container: str) -> str:
    """Docker's health status once it has left "starting" (deploy returns on the first
    passing probe; Docker's own status follows at its next interval)."""
    status = "starting"
    for _ in range(120):
        status = client.api.inspect_container(container)["State"]["Health"]["Status"]
        if status != "starting":
            break
        time.sleep(0.5)
    return status


def test_the_app_answers_through_the_proxy_and_the_worker_does_jobs(
        made: Made, client: docker.DockerClient) -> None:
    assert "no problems" in made.invoke("check")
    made.invoke("deploy")
    assert request(made.port) == (200, {"visits": 1, "jobs_done": 0})
    assert request(made.port) == (200, {"visits": 2, "jobs_done": 0})

    assert request(made.port, "POST", "/jobs", b"resize 42.png") == (202, {"queued": 1})
    done = 0
    for _ in range(60):
        _, answer = request(made.port)
        done = int(str(answer["jobs_done"]))
        if done:
            break
        time.sleep(0.5)
    assert done == 1

    assert health(client, f"{made.project}-worker") == "healthy"
    assert health(client, f"{made.project}-app") == "healthy"
    worker = client.api.inspect_container(f"{made.project}-worker")
    assert worker["Config"]["Healthcheck"]["Test"] == [
        "CMD", "python3", "/srv/app/worker.py", "--check"]
    assert worker["HostConfig"]["ReadonlyRootfs"] is True
    redis = client.api.inspect_container(f"{made.project}-redis")
    assert list(redis["NetworkSettings"]["Networks"]) == [f"{made.project}-backend"]
    assert client.api.inspect_network(f"{made.project}-backend")["Internal"] is True


def worker_check(client: docker.DockerClient, project: str) -> tuple[int, str]:
    """The worker's own healthcheck, run now (Docker's status lags by its interval)."""
    result = client.containers.get(f"{project}-worker").exec_run(
        ["python3", "/srv/app/worker.py", "--check"])
    return result.exit_code, result.output.decode(errors="replace")


def test_the_workers_heartbeat_check_fails_while_redis_does_not_answer(
        made: Made, client: docker.DockerClient) -> None:
    assert worker_check(client, made.project) == (0, "")
    redis = client.containers.get(f"{made.project}-redis")
    redis.pause()  # connections hang: the worker's loop stops beating
    try:
        code, out = 0, ""
        for _ in range(120):
            code, out = worker_check(client, made.project)
            if code:
                break
            time.sleep(0.5)
        assert code == 1 and "last heartbeat" in out, out
    finally:
        redis.unpause()
    for _ in range(120):  # it recovers by itself once Redis answers again
        if worker_check(client, made.project)[0] == 0:
            break
        time.sleep(0.5)
    assert worker_check(client, made.project) == (0, "")


def test_an_edited_app_is_replaced_start_first_behind_the_proxy(
        made: Made, client: docker.DockerClient) -> None:
    before = client.api.inspect_container(f"{made.project}-app")["Id"]
    code = made.root / "images/app/app.py"
    code.write_text(code.read_text().replace(
        '"jobs_done": int(db.get("jobs_done") or 0)}',
        '"jobs_done": int(db.get("jobs_done") or 0), "version": 2}'))
    statuses: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:  # through the proxy, all along the update
        while not stop.is_set():
            try:
                statuses.append(request(made.port)[0])
            except (OSError, http.client.HTTPException):  # refused, reset: a lost request
                statuses.append(0)

    asking = threading.Thread(target=keep_asking)
    asking.start()
    try:
        out = made.invoke("deploy")
    finally:
        stop.set()
        asking.join()
    assert "no longer in the proxy's upstreams" in out, out
    assert statuses and set(statuses) == {200}, statuses
    status, answer = request(made.port)
    assert status == 200 and answer["version"] == 2
    assert int(str(answer["visits"])) > 2  # the count lives on in Redis's volume
    assert client.api.inspect_container(f"{made.project}-app")["Id"] != before


def test_down_with_volumes_removes_everything(made: Made, client: docker.DockerClient) -> None:
    made.invoke("down", "--volumes")
    label = {"label": f"pojemnik.project={made.project}"}
    assert client.api.containers(all=True, filters=label) == []
    assert client.api.networks(filters=label) == []
    assert (client.api.volumes(filters=label).get("Volumes") or []) == []

