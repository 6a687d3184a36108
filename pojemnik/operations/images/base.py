"""A Debian base image without a registry: mmdebstrap (or debootstrap), then `docker import`.

Air-gapped servers and machines with no registry get the same base as everyone
else, made from Debian's package archive (or a local mirror of it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ...console import Say
from ...declaration.model import LABEL_BASE
from ...engine.backend import Engine
from ...errors import DockerError, OperationError

DEFAULT_MIRROR = "http://deb.debian.org/debian"
SUITES = ("bookworm", "trixie", "bullseye", "sid")


@dataclass(frozen=True)
class BaseRecipe:
    ref: str
    suite: str
    mirror: str

    @classmethod
    def for_ref(cls, ref: str, mirror: str | None = None) -> BaseRecipe:
        """`debian:bookworm-slim` -> suite bookworm; other names default to bookworm."""
        tag = ref.rpartition(":")[2] if ":" in ref else ""
        suite = next((s for s in SUITES if tag.startswith(s)), "bookworm")
        return cls(ref, suite, mirror or os.environ.get("DEBIAN_MIRROR") or DEFAULT_MIRROR)

    def shell(self) -> str:
        """The same thing as a shell line, for `plan --format bash`."""
        return (f"mmdebstrap --variant=minbase --format=tar {self.suite} - {self.mirror} "
                f"| docker import --change 'CMD [\"bash\"]' "
                f"--change 'LABEL {LABEL_BASE}=mmdebstrap' - {self.ref}")


def try_pull(engine: Engine, ref: str, say: Say) -> bool:
    try:
        say(f"pulling {ref} ...")
        engine.pull(ref)
        return True
    except DockerError as error:
        say(f"cannot pull {ref} ({_short(error)}); building it from Debian packages instead")
        return False


def build_base(engine: Engine, recipe: BaseRecipe, say: Say) -> str:
    """Make the rootfs tarball, import it, return the image id. Progress goes to stderr."""
    tool = shutil.which("mmdebstrap")
    with tempfile.TemporaryDirectory(prefix="pojemnik-base-") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        if tool:
            command = [tool, "--variant=minbase", "--format=tar",
                       "--aptopt=APT::Install-Recommends \"false\"",
                       "--dpkgopt=path-exclude=/usr/share/doc/*",
                       "--dpkgopt=path-exclude=/usr/share/man/*",
                       recipe.suite, str(tarball), recipe.mirror]
        elif shutil.which("debootstrap"):
            rootfs = Path(tmp) / "rootfs"
            command = ["sh", "-c",
                       f"debootstrap --variant=minbase {recipe.suite} {rootfs} {recipe.mirror} "
                       f"&& rm -rf {rootfs}/var/cache/apt/archives/*.deb "
                       f"&& tar -C {rootfs} -cf {tarball} ."]
        else:
            raise OperationError(
                f"base image {recipe.ref} is not present and cannot be pulled, and neither "
                "mmdebstrap nor debootstrap is installed: `apt-get install mmdebstrap`, "
                "or set BASE_IMAGE in .env to an image you have")
        say(f"building base image {recipe.ref} from Debian {recipe.suite} ({recipe.mirror}) ...")
        result = subprocess.run(command, check=False)  # its progress streams to the terminal
        if result.returncode != 0:
            raise OperationError(f"making the {recipe.suite} root filesystem failed "
                              f"(exit {result.returncode}); see the output above")
        say(f"importing {tarball.stat().st_size // 2**20} MiB as {recipe.ref}")
        image_id = engine.import_rootfs(tarball, recipe.ref,
                                        ['CMD ["bash"]', f"LABEL {LABEL_BASE}=mmdebstrap"])
    return image_id


def ensure_base(engine: Engine, ref: str, say: Say) -> str:
    """The base image's id: present, pulled, or built from Debian packages."""
    if ref not in engine.image_ids() and not try_pull(engine, ref, say):
        build_base(engine, BaseRecipe.for_ref(ref), say)
    return engine.image_ids()[ref]


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) < 160 else text[:157] + "..."
