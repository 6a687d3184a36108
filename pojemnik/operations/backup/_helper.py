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
from ...declaration.model import (
    LABEL_CONTEXT_HASH,
    LABEL_KIND,
    LABEL_NAME,
    LABEL_PROJECT,
    Limits,
    Stack,
)
from ...engine.backend import Engine
from ...errors import DockerError, OperationError
from ...planning.backup import PASSWORD_FILE, REPOSITORY, SSH_KEY, Part
from ...planning.logging_policy import LogSpec
from ...planning.spec import FILE_CAPABILITIES, Attachment, ContainerSpec, ImageSpec, MountSpec
from ..checkout.hashing import context_hash

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
    ("Host key verification failed", "the repository host's key is not the one declared "
     "in backup.known_hosts (BACKUP_KNOWN_HOSTS): compare it with the host's "
     "/etc/ssh/ssh_host_ed25519_key.pub, then run again; nothing was deleted"),
    ("Permission denied (publickey", "the repository host of {where} refused the stack's "
     "key: add the line `invoke backup.key` prints to its authorized_keys; nothing was "
     "deleted"),
    ("ssh: ", "the repository host of {where} cannot be reached over SSH; nothing was "
     "deleted, the next run tries again"),
    ("unable to start the sftp session", "the repository host of {where} cannot be "
     "reached over SSH; nothing was deleted, the next run tries again"),
    ("connection refused", "the repository host of {where} refused the connection; nothing "
     "was deleted, the next run tries again"),
    ("Fatal: unable to open repository", "the repository {where} cannot be opened"),
]


def image_spec(stack: Stack) -> ImageSpec:
    build_args = {"BASE_IMAGE": stack.base_image}
    return ImageSpec(name="backup", tag=f"{stack.project}/backup:latest",
                     context=str(IMAGE_DIR), dockerfile="Dockerfile", build_args=build_args,
                     labels={LABEL_PROJECT: stack.project, LABEL_KIND: "image",
                             LABEL_NAME: "backup", LABEL_CONTEXT_HASH: context_hash(
                                 IMAGE_DIR, "Dockerfile", build_args, "")})


def helper_image(engine: Engine, stack: Stack) -> str:
    """The helper image, built unless the engine has it from the same files (e.g. built
    here and loaded onto a server that cannot reach Debian's archive)."""
    spec = image_spec(stack)
    wanted = spec.labels[LABEL_CONTEXT_HASH]
    for stored in engine.stored_images():
        if spec.tag in stored.tags and stored.labels.get(LABEL_CONTEXT_HASH) == wanted:
            return stored.id
    return engine.build(spec, lambda line: None)


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
        known = self.known(errors)
        return f"{said}: {known}" if known else \
            f"{said} failed: {errors.strip()[-600:] or 'no message'}"

    def known(self, errors: str) -> str | None:
        """What restic's message means for the user, when it is one we know."""
        for text, meaning in MEANINGS:
            if text.lower() in errors.lower():
                return meaning.format(password=self.backup.password, where=self.where)
        return None


def _mounts(stack: Stack, backup: Backup, parts: list[Part], writable: bool) -> list[MountSpec]:
    password = stack.host_path(f"{stack.secrets_dir()}/{backup.password}")
    mounts = [MountSpec("bind", password, PASSWORD_FILE, True)]
    repository = backup.repository_for(stack.project)
    if not repository.startswith("sftp:"):
        mounts.append(MountSpec("bind", repository, REPOSITORY, False))
    else:  # the stack's key alone (`backup.key`), read-only; the host's ~/.ssh never
        key = stack.host_path(f"{stack.secrets_dir()}/{backup.ssh_key}")
        mounts.append(MountSpec("bind", key, SSH_KEY, True))
    mounts += [MountSpec("volume" if p.kind == "volume" else "bind", p.source, p.path,
                         not writable) for p in parts if p.kind in ("volume", "bind")]
    return mounts


def command(backup: Backup) -> list[str]:
    """Sleeps for the run's time limit; first writes the declared host keys where ssh's
    config (image/ssh_config) reads them: the only hosts it trusts."""
    return ["sh", "-c", 'printf "%s\\n" "$POJEMNIK_KNOWN_HOSTS" > /tmp/known_hosts && '
            'exec sleep "$1"', "sh", str(backup.timeout)]


def environment(stack: Stack, backup: Backup) -> dict[str, str]:
    """No secret in it: the password and the key are files."""
    repository = backup.repository_for(stack.project)
    found = {"RESTIC_REPOSITORY": repository if backup.sftp else REPOSITORY,
             "RESTIC_PASSWORD_FILE": PASSWORD_FILE, "RESTIC_CACHE_DIR": "/tmp/restic-cache",
             "HOME": "/root"}
    if backup.sftp:
        found["POJEMNIK_KNOWN_HOSTS"] = backup.known_hosts.strip()
    return found


def helper_spec(stack: Stack, backup: Backup, image: str, parts: list[Part],
                writable: bool) -> ContainerSpec:
    repository = backup.repository_for(stack.project)
    local = not repository.startswith("sftp:")
    name = f"{stack.project}-backup-{uuid.uuid4().hex[:8]}"
    return ContainerSpec(
        service="backup", name=name, image=image, command=command(backup),
        environment=environment(stack, backup),
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
    image = helper_image(engine, stack)
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
                             f"sftp repository: has `invoke backup.key` made the key "
                             f"{backup.ssh_key!r}?)") from error
    try:
        yield Helper(engine, spec.name, backup, repository)
    finally:
        engine.remove_container(spec.name)

