"""Images through the Docker API: building, listing, and tags (the releases a deploy
keeps for a rollback, a failed build's leftovers)."""

from __future__ import annotations

import re
from collections.abc import Callable

import docker

from ..declaration.model import LABEL_PROJECT
from ..errors import DockerError
from ..planning.project_images import StoredImage, failed_build_tag
from ..planning.spec import ImageSpec


def remove_tag(api: docker.APIClient, ref: str) -> bool:
    """Remove one tag; the image goes with its last tag unless a container uses it, which
    Docker refuses (never forced): False. A tag already gone counts as removed."""
    try:
        api.remove_image(ref, force=False, noprune=False)
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError as error:
        if error.status_code == 409:  # conflict: a container uses the image
            return False
        raise
    return True


def stored_images(api: docker.APIClient) -> list[StoredImage]:
    """Every top-level image (dangling ones too; not a build's intermediate layers)."""
    return [StoredImage(row["Id"], tuple(t for t in row.get("RepoTags") or []
                                         if t != "<none>:<none>"),
                        dict(row.get("Labels") or {}))
            for row in api.images()]


# The classic builder's line for each step it committed: " ---> 3f1c2a9b0d4e".
STEP_IMAGE = re.compile(r"^ ---> ([0-9a-f]{12,64})$")


def build(api: docker.APIClient, spec: ImageSpec, on_line: Callable[[str], None],
          nocache: bool = False) -> str:
    """Build one image, handing the builder's output to `on_line` line by line. A failed
    build's last committed step (dangling otherwise) is tagged as the project's failed
    build, so `down --images` knows it; a successful one drops that tag."""
    image_id, last_step = "", ""
    stream = api.build(
        path=spec.context, dockerfile=spec.dockerfile, tag=spec.tag,
        buildargs=spec.build_args, labels=spec.labels, rm=True, forcerm=True,
        nocache=nocache, pull=False, decode=True,
    )
    failed = failed_build_tag(spec.labels.get(LABEL_PROJECT, ""), spec.name)
    for chunk in stream:
        if "error" in chunk:
            _keep_failed(api, last_step, failed)
            raise DockerError(f"building {spec.tag} failed: {chunk['error'].strip()}")
        for line in str(chunk.get("stream", "")).splitlines():
            if step := STEP_IMAGE.match(line):
                last_step = step.group(1)
            if line.strip():
                on_line(line)
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
    remove_tag(api, failed)
    return image_id


def _keep_failed(api: docker.APIClient, step: str, tag: str) -> None:
    """Tag the failed build's last step when nothing else does (a tagged one, such as
    the base image, needs no name). The tag moves: an older leftover goes if unused."""
    if not step or api.inspect_image(step).get("RepoTags"):
        return
    remove_tag(api, tag)
    repository, _, name = tag.rpartition(":")
    api.tag(step, repository, name)
