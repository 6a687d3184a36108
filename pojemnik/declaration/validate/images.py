"""Checks of the images: each declared one has its folder and Dockerfile, and each
service runs a declared image or one the engine holds.

A service's image that is not declared but is spelt like a declared one (`wroker` for
`worker`) is a typo, found here with the declaration's other problems; any other
undeclared image must be on the engine, which only the engine can tell (`unknown_images`,
given its images).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

from ..model import Service, Stack
from ..suggest import closest, suggesting
from .services import NAME

Add = Callable[[str, str, str], None]  # field, message, fix


def check_images(stack: Stack, add: Add) -> None:
    """The declared images' names, folders and Dockerfiles; services' mistyped images."""
    seen: set[str] = set()
    for image in stack.images:
        field = f"images.{image.name}"
        if image.name in seen:
            add(field, "declared more than once", "give each image a unique name")
            continue
        seen.add(image.name)
        if not NAME.match(image.name):
            add(field, f"image name {image.name!r} is not a valid docker name",
                "use lowercase letters, digits, '-', '_' or '.'")
        context = stack.root / image.context_path
        if not context.is_dir():
            folders = _entries(context.parent, dirs=True)
            near = closest(context.name, folders)
            create = f"create {image.context_path}/ with a Dockerfile, or fix the path"
            add(f"{field}.context", f"build context {image.context_path}/ does not exist",
                f"did you mean {Path(image.context_path).parent / near}/? If not: {create}"
                if near else create)
        elif not (context / image.dockerfile).is_file():
            add(f"{field}.dockerfile", f"{image.context_path}/{image.dockerfile} does not exist",
                _dockerfile_fix(image.context_path, image.dockerfile, _entries(context)))
    for service in stack.services:
        if (near := mistyped(stack, service)) is not None:
            add(f"services.{service.name}.image", _unknown(service.image),
                f"did you mean {near!r}? If not: {_use_declared(stack, service)}")


def unknown_images(stack: Stack, present: Collection[str]) -> list[tuple[str, str, str]]:
    """(field, message, fix) of each service whose image is neither declared nor among
    `present` (the engine's tags); mistyped ones are left to `check_images`."""
    found = []
    for service in stack.services:
        if stack.image(service.image) is not None or mistyped(stack, service) is not None:
            continue
        if service.image in present:
            continue
        found.append((f"services.{service.name}.image",
                      f"unknown image {service.image!r} (not declared, and not present on "
                      "the engine)",
                      suggesting(service.image, [*(i.name for i in stack.images), *present],
                                 _use_declared(stack, service))))
    return found


def mistyped(stack: Stack, service: Service) -> str | None:
    """The declared image a service's undeclared image is spelt like, if any. A reference
    with a tag, registry or digest (`postgres:16`) names an image elsewhere: never a typo."""
    if stack.image(service.image) is not None or _external(service.image):
        return None
    return closest(service.image, [i.name for i in stack.images])


def _unknown(image: str) -> str:
    return f"unknown image {image!r} (not declared)"


def _use_declared(stack: Stack, service: Service) -> str:
    declared = ", ".join(i.name for i in stack.images) or "none"
    if _external(service.image):
        return (f"use a declared image ({declared}), or load {service.image} into the "
                "engine (docker load)")
    return f"use a declared image ({declared}) or add images/{service.image}/"


def _external(image: str) -> bool:
    """A reference with a tag, registry or digest (`postgres:16`): an image made elsewhere."""
    return any(c in image for c in ":/@")


def _dockerfile_fix(context: str, dockerfile: str, files: list[str]) -> str:
    add = f"add {dockerfile} to {context}/"
    near = closest(dockerfile, files)
    if near is None:
        return add
    # The user wrote the file: it is `near` they meant to be the Dockerfile.
    return (f"{context}/ holds {near!r}: did you mean {dockerfile}? Rename it to "
            f"{dockerfile} (names are case-sensitive), or declare Image(..., "
            f"dockerfile={near!r}); if not: {add}")


def _entries(folder: Path, dirs: bool = False) -> list[str]:
    """The names in `folder` (its subfolders only, or files only); none if unreadable."""
    try:
        return sorted(p.name for p in folder.iterdir() if p.is_dir() == dirs)
    except OSError:
        return []
