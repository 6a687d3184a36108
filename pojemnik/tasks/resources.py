"""`networks.create`, `containers.run` and `export.compose`: parts of a deploy, alone."""

from __future__ import annotations

import sys
from pathlib import Path

from invoke import Context, Exit, task

from ..console import say
from ..declaration.model import Stack
from ..declaration.problems import InvalidStack, Problem
from .context import declared, engine_of, guard, names, require_declared, stack_of
from .lock import holding_lock
from .stack import converge_task


@task
def networks_create(c: Context) -> None:
    """Create the declared networks (`docker network create --subnet ...`)."""
    from ..operations.host.converge import create_networks

    stack, problems = declared(c)
    single_host_only(stack, "networks.create")
    with engine_of(c) as engine, holding_lock(c, engine, stack, not problems):
        guard(lambda: create_networks(stack, engine, say, problems))
    say(f"{len(stack.networks)} networks present")


@task(help={"name": "service to run (default: all), comma-separated for several"})
def containers_run(c: Context, name: str = "") -> None:
    """Start services with their networks, IPs, ports, mounts (`docker run`); no builds.

    Networks, volumes and secrets they need are created too; images must be present.
    (One command in a new container of a service: `invoke run SERVICE COMMAND`.)
    """
    from ..planning.plan import Options

    stack = stack_of(c)
    single_host_only(stack, "containers.run")
    wanted = names(name)
    require_declared("service", wanted or (), [s.name for s in stack.services])
    converge_task(c, Options(only_services=wanted, build=False))


@task(help={"output": "file to write (default compose.yaml; - for standard output)"})
def export_compose(c: Context, output: str = "compose.yaml") -> None:
    """Write an equivalent compose.yaml for Compose v2 (networks, fixed IPs, ports, mounts,
    limits, stop signals, health checks); what Compose cannot express is listed on top."""
    from ..declaration.validate.stack import check_declaration
    from ..hostfiles.files import LocalFiles
    from ..hostfiles.secrets import write_all
    from ..operations.host.switchboard import write_declared
    from ..planning.compose import compose_document, to_yaml
    from ..planning.unexported import COMPOSE_VERSION, header, left_out
    from ..planning.upstreams import proxy_upstreams

    stack = stack_of(c)
    guard(lambda: _valid(check_declaration(stack)))
    # The file mounts the secret files and the proxy's upstream files; make them now so
    # `docker compose up` finds them.
    write_all(stack, say)
    write_declared(proxy_upstreams(stack), LocalFiles())
    text = header(stack) + to_yaml(compose_document(stack)) + "\n"
    if output == "-":
        sys.stdout.write(text)
        return
    Path(output).write_text(text)
    say(f"wrote {output}, for {COMPOSE_VERSION}")
    say("not exported (Compose has no field for it; listed at the top of the file too):")
    for note in left_out(stack):
        say(f"  - {note}")


def single_host_only(stack: Stack, task_name: str) -> None:
    """These tasks make bridge networks and containers on one engine: on a Swarm they
    would run the stack beside the cluster's services, on the manager alone."""
    if stack.target == "swarm":
        raise Exit(f"{task_name}: {stack.source} declares target swarm, where `deploy` makes "
                   "the overlay networks and the services (`deploy` again after a change; "
                   f"`plan` shows what it would do); {task_name} is for the host target",
                   code=2)


def _valid(problems: list[Problem]) -> None:
    if problems:
        raise InvalidStack(problems)
