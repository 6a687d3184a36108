"""`down --images`: which tags and untagged images are the project's (pure)."""

from __future__ import annotations

from pojemnik.planning.project_images import StoredImage, failed_build_tag, project_images

OURS = {"pojemnik.project": "demo"}


def test_only_the_projects_tags_and_untagged_images_are_chosen() -> None:
    images = [
        StoredImage("sha256:built", ("demo/proxy:latest", "registry.example/proxy:1"), OURS),
        StoredImage("sha256:release", ("demo/releases:proxy-2",), {}),  # an external image
        StoredImage("sha256:failed", (failed_build_tag("demo", "php"),), {}),
        StoredImage("sha256:old", (), OURS),  # a rebuild's predecessor
        StoredImage("sha256:base", ("debian:bookworm-slim", "demo/foreign:1"), {}),
        StoredImage("sha256:other", ("demo2/proxy:latest",), {"pojemnik.project": "demo2"}),
        StoredImage("sha256:stray", (), {}),  # nobody's: never ours to remove
    ]
    removal = project_images("demo", images)
    assert removal.tags == ["demo/failed-builds:php", "demo/proxy:latest",
                            "demo/releases:proxy-2"]
    assert removal.untagged == ["sha256:old"]


def test_a_project_whose_name_prefixes_another_keeps_off_it() -> None:
    images = [StoredImage("sha256:x", ("demo-staging/releases:app-1",), {})]
    assert project_images("demo", images).tags == []
