"""Retention and `invoke prune` on a real engine (issue 21 item 3): after 8 deploys of
changed images at most 5 release images remain (the running one and the one rollback
goes to among them); `prune --dry-run` lists only this project's leftovers and changes
nothing; `prune` removes them, and another project's images and containers, a user's own
image, the stack's running container and its volume all survive."""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path

import docker
import pytest

from .conftest import MADE, TEST_PREFIX, Copy, remove_projects
from .test_down_images import exists, image_id, set_dockerfile, small_project

pytestmark = pytest.mark.integration


def release_tags(client: docker.DockerClient, project: str) -> list[str]:
    return sorted(t for image in client.api.images() for t in image.get("RepoTags") or []
                  if t.startswith(f"{project}/releases:"))


def labelled_image(client: docker.DockerClient, project: str, tag: str, mark: str) -> str:
    """A tiny image (no RUN step) labelled as `project`'s, as its builds are."""
    dockerfile = f"FROM debian:bookworm-slim\nLABEL mark={mark}\n".encode()
    image, _ = client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True,
                                   labels={"pojemnik.project": project})
    return str(image.id)


def other_project(client: docker.DockerClient, other: str) -> dict[str, str]:
    """Another project in the same engine: a release image, a dangling image and a stopped
    one-off container, all labelled as its own."""
    tag = f"{other}/releases:small-1"
    dangling = labelled_image(client, other, tag, "first")
    kept = labelled_image(client, other, tag, "second")  # the first is now untagged
    container = client.api.create_container(kept, command=["true"], name=f"{other}-once",
                                            labels={"pojemnik.project": other})
    return {"dangling": dangling, "kept": kept, "container": str(container["Id"])}


def remove_labelled(client: docker.DockerClient, *projects: str) -> None:
    """Untagged images the projects left (remove_projects removes tagged ones)."""
    for project in projects:
        for image in client.api.images(filters={"label": f"pojemnik.project={project}"}):
            client.api.remove_image(image["Id"], force=True)


def deploy_versions(client: docker.DockerClient, copy: Copy, count: int) -> list[str]:
    """Deploy `count` times, each with a changed image: the release image ids, in order."""
    made = []
    for n in range(1, count + 1):
        set_dockerfile(copy.root, "one", f"v{n}-{secrets.token_hex(2)}")
        copy.invoke("deploy")
        made.append(image_id(client, f"{copy.project}/releases:small-{n}"))
    return made


def test_retention_and_prune_touch_only_this_projects_objects(
        client: docker.DockerClient, tmp_path: Path, stale_cleaned: None) -> None:
    copy = small_project(client, tmp_path)
    project, other = copy.project, f"{TEST_PREFIX}{secrets.token_hex(3)}"
    MADE.add(other)
    unrelated = f"pjkeep-{secrets.token_hex(3)}:test"
    try:
        made = deploy_versions(client, copy, 8)
        # keep_images=5 (the default): releases 4..8; 1..3 untagged and their images gone.
        assert release_tags(client, project) == [f"{project}/releases:small-{n}"
                                                 for n in range(4, 9)]
        assert [exists(client, i) for i in made] == [False] * 3 + [True] * 5
        history = json.loads(copy.invoke("history", "--json").stdout)["releases"]
        assert [(r["release"], r["running"]) for r in history] == \
            [(4, False), (5, False), (6, False), (7, False), (8, True)]

        # Leftovers of ours: a rebuild's predecessor, a failed build, a stopped one-off.
        set_dockerfile(tmp_path, "one", f"x{secrets.token_hex(2)}")
        copy.invoke("images.build")
        predecessor = image_id(client, f"{project}/small:latest")
        set_dockerfile(tmp_path, "one", f"y{secrets.token_hex(2)}")
        copy.invoke("images.build")
        assert client.api.inspect_image(predecessor)["RepoTags"] == []
        set_dockerfile(tmp_path, "one", f"z{secrets.token_hex(2)}", "fail")
        assert copy.invoke("images.build", check=False).returncode == 1
        leftover = image_id(client, f"{project}/failed-builds:small")
        client.api.create_container(made[-1], command=["true"], name=f"{project}-once",
                                    labels={"pojemnik.project": project})
        theirs = other_project(client, other)
        base = image_id(client, "debian:bookworm-slim")
        client.api.tag(base, *unrelated.split(":"))
        # Fewer releases declared from now on: prune trims the record to 3.
        stack_file = tmp_path / "stack.py"
        stack_file.write_text(stack_file.read_text().replace(
            "images=[Image(\"small\")],", "images=[Image(\"small\")], keep_images=3,"))

        dry = json.loads(copy.invoke("prune", "--dry-run", "--json").stdout)
        assert dry == {"dry_run": True, "containers": [f"{project}-once"],
                       "release_tags": [f"{project}/releases:small-{n}" for n in (4, 5)],
                       "failed_builds": [f"{project}/failed-builds:small"],
                       "dangling_images": [predecessor], "records_trimmed": {"small": [6, 7, 8]}}
        assert exists(client, leftover) and exists(client, predecessor)  # nothing changed
        assert len(release_tags(client, project)) == 5

        result = copy.invoke("prune")
        output = result.stdout + result.stderr
        assert f"image {project}/releases:small-4: a release no longer kept: removing" in output
        assert release_tags(client, project) == [f"{project}/releases:small-{n}"
                                                 for n in (6, 7, 8)]
        for gone in (leftover, predecessor, made[3], made[4]):
            assert not exists(client, gone), output
        assert not client.api.containers(all=True, filters={"name": f"{project}-once"})
        # Survivors: the running service, its volume, its built image, and nothing else's.
        assert client.api.inspect_container(f"{project}-small")["State"]["Running"]
        assert client.api.volumes(filters={"label": f"pojemnik.project={project}"})["Volumes"]
        assert exists(client, f"{project}/small:latest")
        assert exists(client, theirs["dangling"]) and exists(client, theirs["kept"])
        assert client.api.inspect_container(theirs["container"])["State"]["Status"] == "created"
        assert image_id(client, unrelated) == base == image_id(client, "debian:bookworm-slim")
        history = json.loads(copy.invoke("history", "--json").stdout)["releases"]
        assert [r["release"] for r in history] == [6, 7, 8]
        again = copy.invoke("prune")
        assert "prune: nothing to remove" in again.stdout + again.stderr
    finally:
        remove_projects(client, project)
        remove_projects(client, other)
        remove_labelled(client, project, other)
        if exists(client, unrelated):
            client.api.remove_image(unrelated)
