"""`backup.key`: the key an sftp repository is reached with, made on the engine's host.

ssh-keygen runs in a one-shot backup helper (no network) that sees the stack's secrets
folder alone, so the private key is made where it is used and never leaves that host;
only its public line is printed, with the restrictions to give it on the repository
host. An existing key is kept (its public line printed again)."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

from ...console import Say
from ...declaration.model import Stack
from ...engine.backend import Engine
from ...errors import OperationError
from ...planning.spec import MountSpec
from ._helper import helper_image, helper_spec
from .run import declared_backup

KEYS = "/keys"
# What the repository host's authorized_keys should say before the public key: sftp only,
# no shell, no forwarding (Debian's and Ubuntu's path of sftp-server).
RESTRICT = 'restrict,command="/usr/lib/openssh/sftp-server"'


def authorized_line(public: str) -> str:
    return f"{RESTRICT} {public.strip()}"


def ensure_key(engine: Engine, stack: Stack, say: Say) -> str:
    """The public line of the stack's backup key (made first if there is none)."""
    backup = declared_backup(stack)
    folder = stack.host_path(stack.secrets_dir())
    if engine.where == "local":
        Path(folder).mkdir(parents=True, exist_ok=True, mode=0o700)
    spec = helper_spec(stack, backup, helper_image(engine, stack), [], False)
    spec = replace(spec, mounts=[MountSpec("bind", folder, KEYS, False)], networks=[],
                   environment={"HOME": "/root"}, command=["sleep", "120"])
    key = shlex.quote(f"{KEYS}/{backup.ssh_key}")
    comment = shlex.quote(f"pojemnik-backup@{stack.project}")
    script = (f"if ! test -s {key}; then rm -f {key} && ssh-keygen -q -t ed25519 -N '' "
              f"-C {comment} -f {key} && rm -f {key}.pub && echo made; fi; "
              f"ssh-keygen -y -f {key}")
    engine.create_container(spec)
    try:
        code, output = engine.exec(spec.name, ["sh", "-c", script])
    finally:
        engine.remove_container(spec.name)
    lines = output.strip().splitlines()
    if code != 0 or not lines or not lines[-1].startswith("ssh-ed25519 "):
        raise OperationError(f"backup.key: ssh-keygen failed: {output.strip()[-400:]}")
    if "made" in lines[:-1]:
        say(f"backup: new key {stack.secrets_dir()}/{backup.ssh_key} on the engine's host "
            "(private: it never leaves that host)")
    return lines[-1]
