"""`invoke diagram`: a picture of the declared topology; no engine needed."""

from __future__ import annotations

import sys
from pathlib import Path

from invoke import Context, Exit, task

from ..console import say
from ..declaration.problems import InvalidStack
from ..declaration.validate.stack import check_declaration
from .context import declared

# Git-ignored: drawing the picture never changes a tracked file (docs/topology.*) unless
# asked, with --output or the `pojemnik.diagram_output` setting (invoke.yaml).
DEFAULT_OUTPUT = ".pojemnik/topology.svg"


@task(help={"output": "file to write: .svg (and a .png beside it), .png, or .dot for the "
                      "Graphviz text (- prints it); default: the pojemnik.diagram_output "
                      f"setting, else {DEFAULT_OUTPUT} in the project (git-ignored)"})
def diagram(c: Context, output: str = "") -> None:
    """Draw the declared topology (ports, networks, addresses and standby addresses, mounts,
    traffic and dependency arrows); no engine needed."""
    from ..operations.diagram import DiagramError, write
    from ..planning.diagram import to_dot

    stack, problems = declared(c)
    problems += check_declaration(stack)
    if problems:
        raise Exit(str(InvalidStack(problems)), code=2)
    text = to_dot(stack)
    if output == "-":
        sys.stdout.write(text)
        return
    configured = c.config.pojemnik.get("diagram_output") or DEFAULT_OUTPUT
    path = Path(output) if output else Path(c.config.pojemnik.root) / configured
    try:
        for written in write(text, path):
            say(f"wrote {written}")
    except (DiagramError, OSError) as error:
        raise Exit(f"diagram: {error}", code=1) from error
