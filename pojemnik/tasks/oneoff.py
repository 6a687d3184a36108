"""`run` and `exec`: a command with the app's networks, environment and secrets, in a
new container of a service or in its live one; locally or with `fab -H host`."""

from __future__ import annotations

from invoke import Context, Exit, task

from ..declaration.model import Stack
from .context import engine_of, guard, require_declared, stack_of

TTY_HELP = ("a terminal inside when this one is a terminal (default); --no-tty: plain "
            "streams, standard input passed on only from a pipe or file")


@task(help={"service": "the declared service whose container to copy",
            "command": "run by `sh -c` in the new container, e.g. \"python manage.py shell\"",
            "tty": TTY_HELP})
def run(c: Context, service: str, command: str, tty: bool = True) -> None:
    """Run COMMAND once in a new container of SERVICE (networks, env, secrets, mounts).

    The container is made from the image the live container runs, without published
    ports, fixed addresses or the service's DNS name (nothing sends it traffic), and
    removed afterwards, also on Ctrl-C. The task exits with the command's exit code.
    `containers.run` is another thing: it starts the services themselves.
    """
    from ..operations.oneoff.commands import run_command

    stack = _stack(c, service, "run")
    with engine_of(c) as engine:
        code = guard(lambda: run_command(stack, engine, service, command, tty))
    if code:
        raise Exit(code=code)


@task(name="exec", help={"service": "the declared service whose live container to enter",
                         "command": "run by `sh -c` in it, e.g. \"sh\" or \"ps aux\"",
                         "tty": TTY_HELP})
def exec_(c: Context, service: str, command: str, tty: bool = True) -> None:
    """Run COMMAND in SERVICE's live container (`docker exec`); exits with its exit code."""
    from ..operations.oneoff.commands import exec_in_service

    stack = _stack(c, service, "exec")
    with engine_of(c) as engine:
        code = guard(lambda: exec_in_service(stack, engine, service, command, tty))
    if code:
        raise Exit(code=code)


def _stack(c: Context, service: str, task_name: str) -> Stack:
    stack = stack_of(c)
    if stack.target == "swarm":
        raise Exit(f"{task_name}: {stack.source} declares target swarm, where a service's "
                   "tasks run on any node: `run` and `exec` are for the host target (on a "
                   "Swarm, `docker exec` on the node `docker service ps` names)", code=2)
    require_declared("service", [service], [s.name for s in stack.services])
    return stack
