"""Image tags through the Docker API: the releases a deploy keeps for a rollback."""

from __future__ import annotations

import docker


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
