"""`down --images`: a project's own images go (its built tags, release tags, a rebuild's
untagged predecessor, a failed build's leftover), nothing else does."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import docker
import pytest

from .conftest import REPO, Copy, make_copy, remove_projects

pytestmark = pytest.mark.integration

STACK = '''from pathlib import Path

from pojemnik import Image, Network, Service, Settings, Stack, Volume, VolumeMount


def declare(settings: Settings) -> Stack:
    return Stack(
        project=settings["POJEMNIK_PROJECT"], root=Path(__file__).parent,
        base_image=settings["BASE_IMAGE"],
        networks=[Network("net", subnet=settings["SERVICES_SUBNET"])],
        images=[Image("small")], volumes=[Volume("data")],
        services=[Service("small", image="small", networks={"net": 3},
                          mounts=[VolumeMount("data", "/data")],
                          command=["sleep", "infinity"], stop_signal="SIGKILL")])
'''


def small_project(client: docker.DockerClient, root: Path) -> Copy:
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    (root / "stack.py").write_text(STACK)
    (root / ".env.example").write_text("POJEMNIK_PROJECT=small\nBASE_IMAGE=debian:bookworm-slim\n"
                                       "SERVICES_SUBNET=10.0.30.0/24\n")
    set_dockerfile(root, "one")
    return make_copy(client, root)


def set_dockerfile(root: Path, *steps: str) -> None:
    """The image: the base, then one small layer per step (`fail`: a step that fails)."""
    lines = ["ARG BASE_IMAGE", "FROM ${BASE_IMAGE}"]
    lines += ["RUN exit 3" if s == "fail" else f"RUN echo {s} > /{s}" for s in steps]
    path = root / "images" / "small" / "Dockerfile"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def image_id(client: docker.DockerClient, ref: str) -> str:
    return str(client.api.inspect_image(ref)["Id"])


def exists(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.api.inspect_image(ref)
    except docker.errors.NotFound:
        return False
    return True


def test_down_images_removes_exactly_the_projects_images(
        client: docker.DockerClient, tmp_path: Path, stale_cleaned: None) -> None:
    copy = small_project(client, tmp_path)
    project = copy.project
    unrelated = f"pjkeep-{secrets.token_hex(3)}:test"
    try:
        copy.invoke("deploy")
        first = image_id(client, f"{project}/releases:small-1")
        set_dockerfile(tmp_path, "one", "two")
        copy.invoke("images.build")
        second = image_id(client, f"{project}/small:latest")
        set_dockerfile(tmp_path, "one", "three")
        copy.invoke("images.build")  # the second loses its tag: untagged, labelled ours
        third = image_id(client, f"{project}/small:latest")
        assert client.api.inspect_image(second)["RepoTags"] == []
        set_dockerfile(tmp_path, "one", f"four{secrets.token_hex(3)}", "fail")
        failed = copy.invoke("images.build", check=False)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        leftover = image_id(client, f"{project}/failed-builds:small")
        assert leftover not in (first, second, third)
        base = image_id(client, "debian:bookworm-slim")
        repo, tag = unrelated.split(":")
        client.api.tag(base, repo, tag)
        client.api.tag(base, f"{project}/foreign", "1")  # in our namespace, not ours

        result = copy.invoke("down", "--volumes", "--images")

        output = result.stdout + result.stderr
        for gone in (first, second, third, leftover):
            assert not exists(client, gone), output
        left = sorted(t for image in client.api.images() for t in image.get("RepoTags") or []
                      if t.startswith(f"{project}/"))
        assert left == [f"{project}/foreign:1"], output
        assert image_id(client, "debian:bookworm-slim") == base
        assert image_id(client, unrelated) == base
        assert f"image {project}/releases:small-1: removed" in output
        assert f"image {project}/failed-builds:small: removed" in output
        assert not client.api.volumes(filters={"label": f"pojemnik.project={project}"}
                                      ).get("Volumes")
        # Releases without their images cannot be rolled back to: not offered any more.
        assert json.loads(copy.invoke("history", "--json").stdout)["releases"] == []
        assert "releases of small: 1 forgotten" in output
    finally:
        remove_projects(client, project)
        if exists(client, unrelated):
            client.api.remove_image(unrelated)
