"""The example stack on the two-node Swarm: `fab -H deploy@manager deploy` with stack.py
unchanged and the target set to swarm (POJEMNIK_TARGET=swarm, PUBLISH_ADDRESS=0.0.0.0).

Every site answers through the proxy; services with two replicas have a task on each
node; a second deploy updates nothing; an app update under a request every 20 ms loses
none; a new version failing its health check is rolled back by Swarm itself; draining the
worker moves its tasks to the manager while the sites keep answering. Counts are
asserted, never times. The module removes its services, configs, secrets and networks.
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ..remote.conftest import FAB, REPO
from .cluster import HTTP_PORT, MANAGER, WORKER, SwarmCluster

pytestmark = pytest.mark.swarm
IMAGES = ("proxy", "php", "webserver-nginx", "postgres")
SITES = {"updates.localhost": "updates.localhost", "packages.localhost": "packages.localhost",
         "php.localhost": "database: ok", "app.localhost": "database: ok"}


@dataclass(frozen=True)
class Stack:
    project: str
    env: dict[str, str]
    cluster: SwarmCluster
    first: str  # what the first deploy printed

    def fab(self, *args: str, check: bool = True, **env: str
            ) -> subprocess.CompletedProcess[str]:
        argv = [*FAB, "-H", self.cluster.fab_host(), "-i", str(self.cluster.key.private_path),
                *args]
        result = subprocess.run(argv, cwd=REPO, env={**self.env, **env}, text=True,
                                capture_output=True, timeout=1500)
        if check and result.returncode != 0:
            raise AssertionError(f"fab {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def manager(self, command: str) -> str:
        return self.cluster.manager_root.run(command).text

    def tasks(self, service: str) -> list[str]:
        """The nodes of the service's running tasks."""
        out = self.manager(f"docker service ps --filter desired-state=running --format "
                           f"'{{{{.Node}}}} {{{{.CurrentState}}}}' {self.project}-{service}")
        return sorted(line.split()[0] for line in out.splitlines() if " Running " in
                      f" {line} ")

    def versions(self) -> dict[str, str]:
        out = self.manager("docker service ls --format '{{.Name}}' --filter "
                           f"label=pojemnik.project={self.project}")
        return {name: self.manager(f"docker service inspect -f '{{{{.Version.Index}}}}' {name}")
                .strip() for name in out.split()}


def get(port: int, site: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/", headers={"Host": site})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def answers(port: int, site: str, expect: str, within: float = 60.0) -> str:
    """The page once it answers 200 with `expect` (retried: a Swarm converges by itself)."""
    deadline = time.monotonic() + within
    while True:
        try:
            status, body = get(port, site)
            if status == 200 and expect in body:
                return body
        except OSError as error:
            status, body = 0, repr(error)
        if time.monotonic() > deadline:
            raise AssertionError(f"{site} did not answer {expect!r}: {status} {body[:200]}")
        time.sleep(0.5)


class Requests(threading.Thread):
    """A request every 20 ms (bounded), counting the failed ones."""

    def __init__(self, port: int, site: str, expect: str) -> None:
        super().__init__(daemon=True)
        self.port, self.site, self.expect = port, site, expect
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + 900
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                status, body = get(self.port, self.site)
                if status == 200 and self.expect in body:
                    self.ok += 1
                else:
                    self.failures.append(f"{status}: {body[:80]}")
            except OSError as error:
                self.failures.append(repr(error))
            time.sleep(0.02)

    def __enter__(self) -> Requests:
        self.start()
        while self.ok < 10 and not self.failures:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.join(30)


@pytest.fixture(scope="module")
def deployed(swarm_cluster: SwarmCluster, swarm_base_image: str) -> Iterator[Stack]:
    project = f"pjswarm-stack-{secrets.token_hex(3)}"
    env = {**os.environ, "POJEMNIK_PROJECT": project, "POJEMNIK_TARGET": "swarm",
           "HTTP_PORT": str(HTTP_PORT), "HTTPS_PORT": "8443", "PUBLISH_ADDRESS": "0.0.0.0",
           "ISOLATED_SUBNET": "10.0.110.0/24", "SERVICES_SUBNET": "10.0.120.0/24",
           "BASE_IMAGE": swarm_base_image,
           "POJEMNIK_KNOWN_HOSTS": str(swarm_cluster.known_hosts_path)}
    swarm_cluster.manager_root.run("mkdir -p /srv/pojemnik && chown deploy /srv/pojemnik")
    stack = Stack(project, env, swarm_cluster, "")
    try:
        first = stack.fab("deploy").stdout
        yield Stack(project, env, swarm_cluster, first)
    finally:
        remove_swarm_objects(stack)
        for image in IMAGES:
            subprocess.run(["docker", "rmi", f"{project}/{image}:latest"], capture_output=True)
        shutil.rmtree(REPO / ".secrets" / project, ignore_errors=True)
        (REPO / ".pojemnik" / f"{project}.json").unlink(missing_ok=True)


def remove_swarm_objects(stack: Stack) -> None:
    label = f"label=pojemnik.project={stack.project}"
    root = stack.cluster.manager_root
    root.run(f"docker node update --availability active {WORKER}", check=False)
    for kind in ("service", "config", "secret"):
        root.run(f"docker {kind} ls -q --filter {label} | xargs -r docker {kind} rm",
                 check=False)
    # The overlay goes once the removed services' endpoints are gone.
    for _ in range(60):
        if root.run(f"docker network ls -q --filter {label} | xargs -r docker network rm",
                    check=False).returncode == 0:
            break
        time.sleep(1)


def port(stack: Stack, node: str = MANAGER) -> int:
    return stack.cluster.published(node, HTTP_PORT)


def test_the_example_deploys_and_every_site_answers_through_the_proxy(deployed: Stack) -> None:
    first = deployed.first
    assert "created 4" in first, first
    assert f"network {deployed.project}-services: creating (overlay, 10.0.120.0/24)" in first
    assert "on all 2 nodes" in first  # the images were pushed to both
    for site, expect in SITES.items():
        answers(port(deployed), site, expect)
    # Pinned by image id, the same on both nodes.
    image = deployed.manager(f"docker service inspect -f "
                             f"'{{{{.Spec.TaskTemplate.ContainerSpec.Image}}}}' "
                             f"{deployed.project}-app").strip()
    assert image.startswith("sha256:")


def test_services_with_two_replicas_have_a_task_on_each_node(deployed: Stack) -> None:
    for service in ("app", "php"):
        assert deployed.tasks(service) == [MANAGER, WORKER], service
    assert deployed.tasks("db") == [MANAGER]  # its data is on the manager


def test_a_second_deploy_updates_nothing(deployed: Stack) -> None:
    before = deployed.versions()
    again = deployed.fab("deploy").stdout
    assert "nothing to do" in again and "created 0, updated 0" in again, again
    assert deployed.versions() == before and len(before) == 4


def test_ps_and_logs_show_the_services(deployed: Stack) -> None:
    ps = deployed.fab("ps").stdout
    app = next(line for line in ps.splitlines() if f"{deployed.project}-app " in line)
    assert " 2/2 " in app and f"{MANAGER}, {WORKER}" in app
    logs = deployed.fab("logs", "--name", "db", "--tail", "all").stdout
    assert "ready to accept connections" in logs  # `docker service logs`, from the manager


def test_an_app_update_under_load_loses_no_request(deployed: Stack) -> None:
    before = deployed.versions()
    with Requests(port(deployed), "app.localhost", "database: ok") as load:
        result = deployed.fab("deploy", APP_VERSION="2").stdout
    assert "updated 1" in result, result
    assert load.failures == [] and load.ok > 50, (load.failures[:5], load.ok)
    assert "version: 2" in answers(port(deployed), "app.localhost", "version: 2")
    after = deployed.versions()
    changed = [name for name in after if after[name] != before[name]]
    assert changed == [f"{deployed.project}-app"]
    assert deployed.tasks("app") == [MANAGER, WORKER]  # still one on each node


def test_a_failing_new_version_is_rolled_back_by_swarm(deployed: Stack) -> None:
    with Requests(port(deployed), "app.localhost", "version: 2") as load:
        failed = deployed.fab("deploy", check=False, APP_VERSION="3", APP_FAIL_HEALTH="1")
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0, output
    assert "Swarm rolled it back by itself" in output, output
    assert load.failures == [], load.failures[:5]  # the previous version kept serving
    state = deployed.manager(f"docker service inspect -f '{{{{.UpdateStatus.State}}}}' "
                             f"{deployed.project}-app").strip()
    assert state == "rollback_completed"
    assert "version: 2" in answers(port(deployed), "app.localhost", "version: 2")


def test_draining_the_worker_moves_its_tasks_and_the_sites_keep_answering(
        deployed: Stack) -> None:
    root = deployed.cluster.manager_root
    placed = deployed.manager(f"docker service ps --format '{{{{.Name}}}} {{{{.Node}}}} "
                              f"{{{{.DesiredState}}}} {{{{.CurrentState}}}} {{{{.Error}}}}' "
                              f"{deployed.project}-app {deployed.project}-php")
    try:
        with Requests(port(deployed), "app.localhost", "version: 2") as load:
            root.run(f"docker node update --availability drain {WORKER}")
            deadline = time.monotonic() + 240
            while deployed.tasks("app") != [MANAGER, MANAGER] or \
                    deployed.tasks("php") != [MANAGER, MANAGER]:
                assert time.monotonic() < deadline, (deployed.tasks("app"),
                                                     deployed.tasks("php"))
                time.sleep(1)
        assert load.failures == [], (len(load.failures), load.failures[:2], placed)
        for site, expect in SITES.items():
            answers(port(deployed), site, expect)
    finally:
        root.run(f"docker node update --availability active {WORKER}")


def test_down_removes_the_stack_and_keeps_its_data(deployed: Stack) -> None:
    deployed.fab("down")
    label = f"label=pojemnik.project={deployed.project}"
    for kind in ("service", "config", "secret", "network"):
        assert deployed.manager(f"docker {kind} ls -q --filter {label}").strip() == "", kind
    volumes = deployed.manager(f"docker volume ls -q --filter {label}").split()
    assert f"{deployed.project}-dbdata" in volumes  # on the manager, where db was pinned
