"""Drawing the topology with Graphviz: DOT text (from `planning.diagram`) to SVG/PNG."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import OperationError


class DiagramError(OperationError):
    """Graphviz is missing or refused the drawing: a message for the user."""


def render(dot: str, fmt: str) -> bytes:
    """Run Graphviz: `dot -T<fmt>` on the DOT text."""
    program = shutil.which("dot")
    if program is None:
        raise DiagramError("Graphviz's `dot` is not installed: apt-get install graphviz "
                           "(or write the DOT text with --output FILE.dot)")
    result = subprocess.run([program, f"-T{fmt}"], input=dot.encode(), capture_output=True,
                            check=False)
    if result.returncode != 0:
        raise DiagramError(f"dot -T{fmt} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout


def can_render(fmt: str) -> bool:
    """Whether this Graphviz has a renderer for `fmt` (PNG needs the cairo plugin)."""
    program = shutil.which("dot")
    if program is None:
        return False
    result = subprocess.run([program, f"-T{fmt}"], input=b"digraph{}", capture_output=True,
                            check=False)
    return result.returncode == 0


def write(text: str, path: Path) -> list[Path]:
    """Write the drawing in the format `path`'s suffix names; beside an SVG, a PNG too
    when this Graphviz can make one."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("svg", "png", "dot", "gv"):
        raise DiagramError(f"{path}: write .svg, .png or .dot")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in ("dot", "gv"):
        path.write_text(text, encoding="utf-8")
        return [path]
    path.write_bytes(render(text, suffix))
    written = [path]
    if suffix == "svg" and can_render("png"):
        png = path.with_suffix(".png")
        png.write_bytes(render(text, "png"))
        written.append(png)
    return written
