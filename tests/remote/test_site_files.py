"""Site files on a remote host follow the checkout on every `fab -H ... deploy`, also when
no container changes, and what a container wrote under a writable bind nested inside a
mirrored directory survives every deploy.

A small project of its own (one service from the base image the session's deployment
shipped), deployed from a temporary checkout onto the server over real SSH.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import FAB, REPO, Deployment
from .hosts import BASE_IMAGE, RemoteHost

pytestmark = pytest.mark.remote

STACK = '''
from pathlib import Path

from pojemnik import Bind, Healthcheck, Limits, Network, Service, Settings, Stack


def declare(settings: Settings) -> Stack:
    return Stack(
        project=settings["POJEMNIK_PROJECT"],
        root=Path(__file__).parent,
        base_image=settings["BASE_IMAGE"],
        networks=[Network("web", subnet=settings["WEB_SUBNET"])],
        services=[Service(
            "web", image=settings["BASE_IMAGE"], networks={"web": 2},
            # The site read-only, its uploads writable: a directory inside the site's.
            mounts=[Bind("www/site", "/srv/site"),
                    Bind("www/site/media", "/srv/site/media", read_only=False)],
            command=["sleep", "infinity"], user="1000:1000",
            healthcheck=Healthcheck(["test", "-r", "/srv/site/index.html"], interval=5.0),
            limits=Limits(memory="16m", cpus=0.2, pids=10),
        )],
    )
'''


@dataclass(frozen=True)
class Site:
    root: Path  # the checkout
    project: str
    env: dict[str, str]
    server: RemoteHost

    @property
    def remote(self) -> str:
        return f"/srv/pojemnik/{self.project}"

    def fab(self, *args: str) -> str:
        result = subprocess.run(
            [*FAB, "-H", f"{self.server.user}@{self.server.host}:{self.server.port}",
             "-i", str(self.server.key_path), *args],
            cwd=self.root, env=self.env, text=True, capture_output=True, timeout=600)
        assert result.returncode == 0, f"fab {args}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def on_host(self, path: str) -> str:
        return self.server.run(f"cat {self.remote}/{path}").text

    def container_id(self) -> str:
        return self.server.run(f"docker inspect -f '{{{{.Id}}}}' {self.project}-web").text


@pytest.fixture(scope="module")
def site(deployment: Deployment, server: RemoteHost,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # `deployment` shipped the base image to the server: the service runs it as it is.
    root = tmp_path_factory.mktemp("site-files")
    project = f"pjremote-site-{secrets.token_hex(3)}"
    for name in ("tasks.py", "fabfile.py", "fabric.yaml"):
        shutil.copy(REPO / name, root / name)
    (root / "stack.py").write_text(STACK)
    (root / ".env.example").write_text(
        f"POJEMNIK_PROJECT={project}\nBASE_IMAGE={BASE_IMAGE}\nWEB_SUBNET=10.0.130.0/24\n")
    (root / "www/site/media").mkdir(parents=True)
    (root / "www/site/index.html").write_text("<p>one</p>\n")
    (root / "www/site/about.html").write_text("<p>about</p>\n")
    (root / "www/site/media/placeholder.txt").write_text("from the checkout\n")
    env = {**os.environ, "POJEMNIK_PROJECT": project, "PYTHONUNBUFFERED": "1",
           "POJEMNIK_KNOWN_HOSTS": str(server.known_hosts_path)}
    site = Site(root, project, env, server)
    try:
        yield site
    finally:
        server.run(f"docker rm -f {project}-web; docker network rm {project}-web; "
                   f"rm -rf {site.remote}", check=False)


def test_site_files_follow_the_checkout_without_touching_the_container(site: Site) -> None:
    first = site.fab("deploy")
    assert "created 2" in first, first  # the network and the container
    assert site.on_host("www/site/index.html") == "<p>one</p>\n"
    container = site.container_id()
    # A container writes an upload into the writable directory inside the site's.
    site.server.run(f"docker exec {site.project}-web sh -c "
                    "'echo mine > /srv/site/media/upload.jpg'")
    assert "nothing to do" in site.fab("plan")

    (site.root / "www/site/new.html").write_text("<p>new</p>\n")
    (site.root / "www/site/index.html").write_text("<p>two</p>\n")
    (site.root / "www/site/media/placeholder.txt").write_text("changed in the checkout\n")
    planned = site.fab("plan")
    assert "ship-files" in planned and "2 to send" in planned, planned
    assert "send    www/site/index.html" in planned and "send    www/site/new.html" in planned
    assert "media" not in planned  # the uploads' directory is never compared
    as_json = json.loads(site.fab("plan", "--format", "json"))
    [files] = [a["files"] for a in as_json["actions"] if a["kind"] == "ship-files"]
    assert files["send"] == ["www/site/index.html", "www/site/new.html"]

    second = site.fab("deploy")
    assert "created 0, recreated 0, started 0, reloaded 0, files sent 2, files removed 0" \
        in second, second
    assert site.on_host("www/site/new.html") == "<p>new</p>\n"
    assert site.on_host("www/site/index.html") == "<p>two</p>\n"
    assert site.container_id() == container  # no container was recreated
    # What the container serves is the host's copy: the new file is there too.
    assert site.server.run(f"docker exec {site.project}-web cat /srv/site/new.html").text \
        == "<p>new</p>\n"

    (site.root / "www/site/about.html").unlink()
    third = site.fab("deploy")
    assert "files sent 0, files removed 1" in third, third
    assert site.server.run(f"test -e {site.remote}/www/site/about.html",
                           check=False).returncode == 1
    # The uploads survive every deploy; the checkout's copy under media/ never replaced it.
    assert site.on_host("www/site/media/upload.jpg") == "mine\n"
    assert site.on_host("www/site/media/placeholder.txt") == "from the checkout\n"
    assert "nothing to do" in site.fab("deploy")
    assert site.container_id() == container
