"""Refresh one named volume of staging from another environment's, on one engine.

A throwaway container from the base image mounts the source read-only and the target:
the files are copied into a hidden directory of the target first and verified there
(every file's sha256, with its path, against the source), and only then swapped in, with
the target's containers stopped for the swap and started after. A copy or check that
fails leaves the target's files as they were (the half-made copy is removed); a second
run starts over and converges.
"""

from __future__ import annotations

import uuid

from ...console import Say
from ...declaration.model import LABEL_KIND, LABEL_NAME, LABEL_PROJECT, Limits, Stack
from ...engine.backend import Engine
from ...errors import OperationError
from ...planning.logging_policy import LogSpec
from ...planning.spec import FILE_CAPABILITIES, ContainerSpec, MountSpec

INCOMING, BEFORE = ".pojemnik-incoming", ".pojemnik-before"
LISTED = (f"find . -path ./{INCOMING} -prune -o -path ./{BEFORE} -prune -o -type f -print0"
          " | sort -z | xargs -0r sha256sum")
COPY = f"""set -eu
rm -rf /to/{INCOMING} /to/{BEFORE}
mkdir /to/{INCOMING}
cp -a /from/. /to/{INCOMING}/
a=$(cd /from && {LISTED} | sha256sum)
b=$(cd /to/{INCOMING} && {LISTED} | sha256sum)
if [ "$a" != "$b" ]; then rm -rf /to/{INCOMING}; echo "verification failed" >&2; exit 3; fi
find /from -type f | wc -l
"""
SWAP = f"""set -eu
mkdir /to/{BEFORE}
find /to -mindepth 1 -maxdepth 1 ! -name {INCOMING} ! -name {BEFORE} -exec mv {{}} /to/{BEFORE}/ \\;
find /to/{INCOMING} -mindepth 1 -maxdepth 1 -exec mv {{}} /to/ \\;
rmdir /to/{INCOMING}
rm -rf /to/{BEFORE}
"""


def users_of(stack: Stack, volume: str) -> list[str]:
    """The containers of `stack` that mount the volume: stopped while it is swapped."""
    return [stack.container_name(s.name) for s in stack.services
            if any(getattr(m, "volume", None) == volume for m in s.mounts)]


def refresh_volume(engine: Engine, source: Stack, target: Stack, volume: str,
                   say: Say) -> int:
    """Copy `volume` of `source` into `target`'s; the number of files copied."""
    names = source.volume_name(volume), target.volume_name(volume)
    for stack, name in zip((source, target), names, strict=True):
        if name not in engine.observe(stack.project, []).volumes:
            raise OperationError(f"volume {name} does not exist; deploy both environments "
                                 "first (`invoke deploy`, with POJEMNIK_ENV for the named one)")
    spec = _copier(target, names[0], names[1])
    engine.create_container(spec)
    try:
        files = _exec(engine, spec.name, COPY, f"copying {names[0]} into {names[1]}")
        say(f"volume {volume}: {files.strip()} files copied from {names[0]} and verified")
        users = [u for u in users_of(target, volume) if engine.state(u) == "running"]
        for user in users:
            engine.stop(user)
        try:
            _exec(engine, spec.name, SWAP, f"swapping the copy into {names[1]}")
        finally:
            for user in users:
                engine.start(user)
        say(f"volume {volume}: swapped into {names[1]}"
            + (f" ({', '.join(users)} stopped for it, started again)" if users else ""))
        return int(files.strip() or 0)
    finally:
        engine.remove_container(spec.name)


def _exec(engine: Engine, container: str, script: str, what: str) -> str:
    code, output = engine.exec(container, ["sh", "-c", script])
    if code != 0:
        raise OperationError(f"{what} failed: {output.strip()[-400:] or 'no message'}; "
                             "the target volume's files are as they were")
    return output


def _copier(stack: Stack, source: str, target: str) -> ContainerSpec:
    name = f"{stack.project}-refresh-{uuid.uuid4().hex[:8]}"
    return ContainerSpec(
        service="refresh", name=name, image=stack.base_image, command=["sleep", "3600"],
        environment={}, user="0:0", ports=[],
        mounts=[MountSpec("volume", source, "/from", True),
                MountSpec("volume", target, "/to", False)],
        tmpfs={}, networks=[], restart="no", healthcheck=None,
        limits=Limits(memory="256m", cpus=1.0, pids=100), read_only=True,
        cap_add=list(FILE_CAPABILITIES),
        cap_drop=["ALL"], security_opt=["no-new-privileges"], memory_swap=256 * 2**20,
        heal_after=None, labels={LABEL_PROJECT: stack.project, LABEL_KIND: "refresh",
                                 LABEL_NAME: name},
        stop_signal="SIGKILL", stop_grace=1.0, logging=LogSpec())
