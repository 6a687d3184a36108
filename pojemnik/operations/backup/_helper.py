"""The restic helper container: made for one task, removed after it (also on errors).

It sleeps for the run's time limit and restic runs in it by `docker exec`; when the
limit passes the container ends, and whatever restic was doing with it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ...console import Say
from ...declaration.backup import Backup
from ...declaration.model import LABEL_KIND, LABEL_NAME, LABEL_PROJECT, Limits, Stack
from ...engine.backend import Engine
from ...errors import DockerError, OperationError
from ...planning.backup import PASSWORD_FILE, REPOSITORY, Part
from ...planning.logging_policy import LogSpec
from ...planning.spec import FILE_CAPABILITIES, Attachment, ContainerSpec, ImageSpec, MountSpec

IMAGE_DIR = Path(__file__).parent / "image"
# What restic answers, and what it means for the user.
MEANINGS = [
    ("wrong password", "wrong password: the repository was made with another password than "
     "the secret {password}'s (see docs/guides/backups.md, \"the password\")"),
    ("no space left", "the disk is full on the engine's host (or the repository's): free "
     "space and run again; nothing was deleted"),
    ("Is there a repository at the following location", "there is no repository at {where} "
     "yet: `invoke backup.run` makes it"),
    ("unable to open config file", "there is no repository at {where} yet: `invoke "
     "backup.run` makes it"),
    ("Host key verification failed", "the repository host's key is not in the engine "
     "host's known_hosts (backup.ssh_dir): ssh to it once from there as root, compare the "
     "key, then run again"),
    ("ssh: ", "the repository host of {where} cannot be reached over SSH; nothing was "
     "deleted, the next run tries again"),
    ("unable to start the sftp session", "the repository host of {where} cannot be "
     "reached over SSH; nothing was deleted, the next run tries again"),
    ("connection refused", "the repository host of {where} refused the connection; nothing "
     "was deleted, the next run tries again"),
    ("Fatal: unable to open repository", "the repository {where} cannot be opened"),
]


def image_spec(stack: Stack) -> ImageSpec:
    return ImageSpec(name="backup", tag=f"{stack.project}/backup:latest",
                     context=str(IMAGE_DIR), dockerfile="Dockerfile",
                     build_args={"BASE_IMAGE": stack.base_image},
                     labels={LABEL_PROJECT: stack.project, LABEL_KIND: "image",
                             LABEL_NAME: "backup"})


class Helper:
    def __init__(self, engine: Engine, name: str, backup: Backup, where: str) -> None:
        self.engine, self.name, self.backup, self.where = engine, name, backup, where

    def restic(self, args: list[str], stdin: Iterable[bytes] = (),
               output: Callable[[bytes], None] | None = None) -> str:
        """restic's standard output (or handed to `output`); OperationError saying what
        a failure means."""
        kept = bytearray()
        code, errors = self.engine.exec_stream(self.name, args, stdin, output or kept.extend)
        if code != 0:
            raise OperationError(self.meaning(args, errors))
        return kept.decode(errors="replace")

    def shell(self, script: str) -> str:
        code, output = self.engine.exec(self.name, ["bash", "-o", "pipefail", "-c", script])
        if code != 0:
            raise OperationError(f"backup helper: {script.split()[0]} failed: "
                                 f"{output.strip()[-400:]}")
        return output

    def meaning(self, args: list[str], errors: str) -> str:
        said = " ".join(args[:2])
        for text, meaning in MEANINGS:
            if text.lower() in errors.lower():
                return f"{said}: " + meaning.format(password=self.backup.password,
                                                    where=self.where)
        return f"{said} failed: {errors.strip()[-600:] or 'no message'}"


def _mounts(stack: Stack, backup: Backup, parts: list[Part], writable: bool) -> list[MountSpec]:
    password = stack.host_path(f"{stack.secrets_dir()}/{backup.password}")
    mounts = [MountSpec("bind", password, PASSWORD_FILE, True)]
    repository = backup.repository_for(stack.project)
    if not repository.startswith("sftp:"):
        mounts.append(MountSpec("bind", repository, REPOSITORY, False))
    else:  # ssh's key and known hosts: the engine host's, never written
        mounts.append(MountSpec("bind", backup.ssh_dir, "/root/.ssh", True))
    mounts += [MountSpec("volume" if p.kind == "volume" else "bind", p.source, p.path,
                         not writable) for p in parts if p.kind in ("volume", "bind")]
    return mounts


def helper_spec(stack: Stack, backup: Backup, image: str, parts: list[Part],
                writable: bool) -> ContainerSpec:
    repository = backup.repository_for(stack.project)
    local = not repository.startswith("sftp:")
    name = f"{stack.project}-backup-{uuid.uuid4().hex[:8]}"
    return ContainerSpec(
        service="backup", name=name, image=image, command=["sleep", str(backup.timeout)],
        environment={"RESTIC_REPOSITORY": REPOSITORY if local else repository,
                     "RESTIC_PASSWORD_FILE": PASSWORD_FILE,
                     "RESTIC_CACHE_DIR": "/tmp/restic-cache", "HOME": "/root"},
        user="0:0", ports=[], mounts=_mounts(stack, backup, parts, writable),
        tmpfs={"/tmp": "rw,nosuid,size=512m"},
        # A local repository needs no network at all; sftp the engine's default bridge.
        networks=[] if local else [Attachment("bridge", None, [])], restart="no",
        healthcheck=None,
        limits=Limits(memory="512m", cpus=1.0, pids=200), read_only=False,
        cap_add=list(FILE_CAPABILITIES),
        cap_drop=["ALL"], security_opt=["no-new-privileges"], memory_swap=512 * 2**20,
        heal_after=None, labels={LABEL_PROJECT: stack.project, LABEL_KIND: "backup",
                                 LABEL_NAME: name},
        stop_signal="SIGTERM", stop_grace=5.0, logging=LogSpec())


@contextmanager
def helper(engine: Engine, stack: Stack, backup: Backup, say: Say, parts: list[Part],
           writable: bool = False) -> Iterator[Helper]:
    image = engine.build(image_spec(stack), lambda line: None)
    spec = helper_spec(stack, backup, image, parts, writable)
    repository = backup.repository_for(stack.project)
    if not repository.startswith("sftp:") and engine.where == "local":
        # A bind mount needs its source (a remote host's is made over SSH: tasks.backup).
        Path(repository).mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        engine.create_container(spec)
    except DockerError as error:
        raise OperationError(f"the backup helper cannot start: {error}. Has `invoke deploy` "
                             f"made the secret {backup.password!r} and the volumes yet? (An "
                             "sftp repository: does backup.ssh_dir exist on the engine's "
                             "host?)") from error
    try:
        yield Helper(engine, spec.name, backup, repository)
    finally:
        engine.remove_container(spec.name)

