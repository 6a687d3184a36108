"""Invoke tasks mirroring the article's docker commands; a repository's `tasks.py` uses
`namespace()` and gets them all, each runnable alone and all together as `deploy`.

Tasks are thin: parse options, call the core, print. Docker is imported only when a
task runs, so `invoke --list` stays instant.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke import Collection, Context, Exit, task

from .model import Stack
from .problems import InvalidStack, Problem
from .settings import Settings

if TYPE_CHECKING:
    from .engine import Engine


# Under `fab -H a,b` tasks run in parallel threads: each line says which host it is about.
HOST_PREFIX: ContextVar[str] = ContextVar("HOST_PREFIX", default="")


def say(line: str) -> None:
    print(f"{HOST_PREFIX.get()}{line}", flush=True)


def is_remote(c: Context) -> bool:
    """`fab -H host` hands tasks a Fabric Connection; `invoke` a plain Context."""
    return getattr(c, "host", None) is not None


def load_stack(root: Path, stack_file: str = "stack.py") -> tuple[Stack, list[Problem]]:
    """Import `declare(settings)` from the stack file and call it with the merged settings."""
    path = root / stack_file
    if not path.is_file():
        raise Exit(f"{path}: no stack declaration here; create {stack_file} with "
                   "def declare(settings) -> Stack", code=2)
    spec = importlib.util.spec_from_file_location(f"pojemnik_stack_{abs(hash(path))}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    settings = Settings.load(root)
    stack: Stack = module.declare(settings)
    return stack, settings.problems


def _root(c: Context) -> Path:
    return Path(c.config.pojemnik.root)


def _stack(c: Context) -> tuple[Stack, list[Problem]]:
    stack, problems = load_stack(_root(c), c.config.pojemnik.stack)
    if is_remote(c):
        from .remote import remote_dir

        stack = replace(stack, mount_root=remote_dir(stack.project))
    return stack, problems


def _engine(c: Context) -> Engine:
    from .engine import Engine, EngineError

    try:
        if is_remote(c):
            from .remote import engine_for

            return engine_for(c, say)
        return Engine.connect(c.config.pojemnik.get("docker_host"))
    except EngineError as error:
        raise Exit(str(error), code=1) from error


def _ship_files(c: Context, stack: Stack) -> Callable[[], None] | None:
    """For a remote host: mirror the mounted files (and secrets) into its stack directory."""
    if not is_remote(c):
        return None
    from .remote import sync_files

    def ship() -> None:
        assert stack.mount_root is not None
        result = sync_files(c, stack.root,
                            [*stack.mounted_paths(), stack.secrets_dir()], stack.mount_root,
                            say, private=[".secrets"])
        say(f"files: {result.sent} sent ({result.bytes} bytes), {result.removed} removed, "
            f"{result.unchanged} unchanged")

    return ship


def _guard(work: Callable[[], Any]) -> Any:
    """Turn our errors into a clear message and a non-zero exit, without a traceback."""
    from docker.errors import DockerException

    from .engine import EngineError

    try:
        return work()
    except InvalidStack as error:
        raise Exit(str(error), code=2) from error
    except EngineError as error:
        raise Exit(f"error: {error}", code=1) from error
    except DockerException as error:  # the engine refused something the plan asked for
        raise Exit(f"error from the Docker engine: {error}\nVolumes and data are "
                   "untouched; fix the cause and run again to continue from here.",
                   code=1) from error


def _require_declared(kind: str, names: Iterable[str], declared: list[str]) -> None:
    """A name given on the command line that the stack does not declare: say which exist."""
    unknown = sorted(set(names) - set(declared))
    if unknown:
        raise Exit(f"unknown {kind} {unknown[0]!r}; declared: {', '.join(declared)}", code=2)


def _names(value: str | None) -> frozenset[str] | None:
    return frozenset(n.strip() for n in value.split(",") if n.strip()) if value else None


def _converge(c: Context, options: Any, dry: bool = False, fmt: str = "table") -> None:
    from .apply import converge
    from .plan import summary

    stack, problems = _stack(c)
    engine = _engine(c)
    if is_remote(c) and not dry:
        from .remote import fetch_missing_secrets

        # A new checkout must not mint new passwords for a server's existing database.
        fetch_missing_secrets(c, stack, say)

    def work() -> None:
        outcome = converge(stack, engine, options, say, dry=dry, extra_problems=problems,
                           ship_files=_ship_files(c, stack))
        if dry or not outcome.applied:
            print(_render(outcome.plan, fmt, stack))
        if not dry:
            say(f"{stack.project}: {summary(outcome.plan)}")

    _guard(work)


def _render(plan: Any, fmt: str, stack: Stack) -> str:
    from . import render
    from .base import BaseRecipe

    if fmt == "json":
        return render.as_json(plan)
    if fmt == "bash":
        return render.bash(plan, BaseRecipe.for_ref(stack.base_image).shell())
    if fmt == "table":
        return render.table(plan)
    raise Exit(f"unknown --format {fmt!r}: use table, json or bash", code=2)


# --- top-level tasks ------------------------------------------------------------------


@task(help={"dry": "print the plan, change nothing",
            "format": "with --dry: table, json or bash",
            "remove_orphans": "also remove containers of services no longer declared",
            "recreate_networks": "recreate networks whose subnet changed, with their "
                                 "containers (volumes are kept)"})
def deploy(c: Context, dry: bool = False, format: str = "table",
           remove_orphans: bool = False, recreate_networks: bool = False) -> None:
    """Build, create networks and run every service in dependency order, waiting for health."""
    from .plan import Options

    _converge(c, Options(remove_orphans=remove_orphans, recreate_networks=recreate_networks,
                         now=time.time()), dry=dry, fmt=format)


@task(help={"format": "table (default), json, or bash: the equivalent docker commands",
            "refresh": "plan image rebuilds with fresh package updates"})
def plan(c: Context, format: str = "table", refresh: bool = False) -> None:
    """Show what `deploy` would do and why, without doing it."""
    from .apply import checked_plan
    from .plan import Options

    stack, problems = _stack(c)
    engine = _engine(c)
    options = Options(refresh=refresh, now=time.time())
    result = _guard(lambda: checked_plan(stack, engine, options, problems))
    print(_render(result, format, stack))


@task
def check(c: Context) -> None:
    """Validate the declaration and .env against the engine; change nothing."""
    from .validate import validate

    stack, problems = _stack(c)
    engine = _engine(c)
    problems += _guard(lambda: validate(stack, engine.observe(stack)))
    if problems:
        raise Exit(str(InvalidStack(problems)), code=2)
    say(f"{stack.project}: {len(stack.services)} services, {len(stack.networks)} networks, "
        f"{len(stack.images)} images: no problems")


@task(help={"json": "machine-readable output"})
def ps(c: Context, json_: bool = False) -> None:
    """List the stack's containers, stopped ones too (`docker ps --all`)."""
    stack, _ = _stack(c)
    rows = _engine(c).project_containers(stack.project)
    if json_:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return
    _print_table(["NAME", "SERVICE", "IMAGE", "STATUS", "PORTS"],
                 [[r.name, r.service, r.image, r.status, r.ports] for r in rows])


@task(help={"name": "service (default: all)", "follow": "keep streaming new lines",
            "tail": "lines from the end (default 100; 'all' for everything)"})
def logs(c: Context, name: str = "", follow: bool = False, tail: str = "100") -> None:
    """Show a service's logs (`docker logs`); --follow streams them."""
    stack, _ = _stack(c)
    engine = _engine(c)
    services = [name] if name else [s.name for s in stack.services]
    _require_declared("service", services, [s.name for s in stack.services])
    if follow and len(services) > 1:
        raise Exit("--follow needs one service: --name SERVICE", code=2)
    count: int | str = tail if tail == "all" else int(tail)
    import docker

    for service in services:
        container = stack.container_name(service)
        if len(services) > 1:
            print(f"==> {container} <==", flush=True)
        try:
            for chunk in engine.logs(container, follow, count):
                sys.stdout.write(chunk.decode(errors="replace"))
                sys.stdout.flush()
        except docker.errors.NotFound:
            print(f"({container} is not running; `invoke deploy` starts it)")


@task(help={"volumes": "also remove the named volumes: DELETES the data (databases)"})
def down(c: Context, volumes: bool = False) -> None:
    """Remove the stack's containers and networks; volumes (data) are kept unless --volumes."""
    stack, _ = _stack(c)
    engine = _engine(c)
    for row in engine.project_containers(stack.project):
        say(f"container {row.name}: removing")
        engine.remove_container(row.name)
    for name in engine.remove_networks(stack.project):
        say(f"network {name}: removed")
    if volumes:
        for name in engine.remove_volumes(stack.project):
            say(f"volume {name}: removed (data deleted)")
    else:
        say("volumes kept (data is safe); `invoke down --volumes` removes them")


# --- images ---------------------------------------------------------------------------


@task(help={"name": "image to build (default: all), comma-separated for several",
            "refresh": "ignore the layer cache so apt-get update/upgrade really run again"})
def images_build(c: Context, name: str = "", refresh: bool = False) -> None:
    """Build images from images/<name>/ (`docker image build`) whose context changed."""
    from .plan import Options

    stack, _ = _stack(c)
    names = _names(name) or frozenset(i.name for i in stack.images)
    _require_declared("image", names, [i.name for i in stack.images])
    _converge(c, Options(only_services=frozenset(), only_images=names, refresh=refresh,
                           now=time.time()))


@task(help={"json": "machine-readable output"})
def images_list(c: Context, json_: bool = False) -> None:
    """List the stack's images and the base image (`docker image list`)."""
    stack, _ = _stack(c)
    rows = []
    for image in _engine(c).list_images(stack):
        rows.append({"tags": image.get("RepoTags") or [], "id": image["Id"][7:19],
                     "size_mb": round(image.get("Size", 0) / 2**20),
                     "created": image.get("Created")})
    if json_:
        print(json.dumps(rows, indent=2))
        return
    _print_table(["TAG", "ID", "SIZE"], [[", ".join(r["tags"]), str(r["id"]),
                                          f"{r['size_mb']} MB"] for r in rows])


@task(help={"name": "image to push (default: all, and the base image)"})
def images_push(c: Context, name: str = "") -> None:
    """Ship images built here to the host (fab -H): no builds on a small server."""
    from .engine import Engine
    from .remote import push_images

    if not is_remote(c):
        raise Exit("images.push sends images to a remote host: fab -H user@server "
                   "images.push (build them first with invoke images.build)", code=2)
    stack, _ = _stack(c)
    names = _names(name) or frozenset(i.name for i in stack.images)
    tags = [stack.image_tag(n) for n in sorted(names)]
    if not name:
        tags.insert(0, stack.base_image)
    local = Engine.connect(c.config.pojemnik.get("docker_host"))
    remote = _engine(c)
    _guard(lambda: push_images(local, remote, tags, say))


@task
def images_base(c: Context) -> None:
    """Make BASE_IMAGE if missing: pull it, or build it from Debian packages."""
    from .base import ensure_base

    stack, _ = _stack(c)
    engine = _engine(c)
    _guard(lambda: ensure_base(engine, stack.base_image, say))
    say(f"base image {stack.base_image}: present")


# --- networks and containers ------------------------------------------------------


@task
def networks_create(c: Context) -> None:
    """Create the declared networks (`docker network create --subnet ...`)."""
    from . import plan as p
    from .apply import checked_plan

    stack, problems = _stack(c)
    engine = _engine(c)

    def work() -> None:
        result = checked_plan(stack, engine, p.Options(build=False), problems)
        for action in result.of_kind(p.CREATE_NETWORK):
            assert action.network
            say(f"network {action.target}: creating ({action.network.subnet})")
            engine.create_network(action.network)
        say(f"{len(stack.networks)} networks present")

    _guard(work)


@task(help={"name": "service to run (default: all), comma-separated for several"})
def containers_run(c: Context, name: str = "") -> None:
    """Run services with their networks, IPs, ports, mounts (`docker run`); no builds.

    Networks, volumes and secrets they need are created too; images must be present.
    """
    from .plan import Options

    stack, _ = _stack(c)
    names = _names(name)
    _require_declared("service", names or (), [s.name for s in stack.services])
    _converge(c, Options(only_services=names, build=False))


@task(help={"output": "file to write (default compose.yaml; - for standard output)"})
def export_compose(c: Context, output: str = "compose.yaml") -> None:
    """Write an equivalent compose.yaml (networks, fixed IPs, ports, mounts, limits)."""
    from .apply import write_secret
    from .compose import compose_document, to_yaml

    stack, problems = _stack(c)
    if problems:
        raise Exit(str(InvalidStack(problems)), code=2)
    # The file mounts the secret files; make them now so `docker compose up` finds them.
    for secret in stack.secrets:
        write_secret(stack, secret.name, say)
    text = (f"# Compose file exported by pojemnik from {stack.source} (project "
            f"{stack.project}).\n# Same network and volume names: `invoke down` then "
            "`docker compose up -d` keeps the data.\n" + to_yaml(compose_document(stack)) + "\n")
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text)
        say(f"wrote {output}")


@task(help={"owner": "the user that deploys (default: the SSH user); joins group docker"})
def server_bootstrap(c: Context, owner: str = "") -> None:
    """Prepare a fresh Debian/Ubuntu host: Docker, the stack directory, a resource check."""
    from .remote import bootstrap

    if not is_remote(c):
        raise Exit("server.bootstrap prepares a remote host: fab -H root@server "
                   "server.bootstrap", code=2)
    stack, _ = _stack(c)
    _guard(lambda: bootstrap(c, stack, say, owner))


@task(help={
    "source": "the old host, user@host[:port] (same key and known_hosts as -H)",
    "path": "directory to copy from the old host (repeatable in later versions)",
    "to": "where to put it on this host (default: the same path)",
    "database": "also move this PostgreSQL database (pg_dump | psql)",
    "service": "the new stack's database service (default: db)",
    "dry": "show what would change; change nothing",
    "delete": "also delete what exists only on this host under --to",
    "direct": "HOST[:PORT] this host reaches the old one at: rsync straight between them "
              "(your ssh-agent is forwarded for it); default: relay through this machine",
})
def data_copy(c: Context, source: str, path: str = "", to: str = "", database: str = "",
              service: str = "db", dry: bool = False, delete: bool = False,
              direct: str = "") -> None:
    """Copy the data from the previous installation: files, then a database; verified."""
    from fabric import Connection

    from .datacopy import copy_database, copy_files, copy_files_direct
    from .remote import open_connection

    if not is_remote(c):
        raise Exit("data.copy runs on the new host: fab -H root@new data.copy --source "
                   "root@old --path /srv/data", code=2)
    if not path and not database:
        raise Exit("nothing to copy: give --path and/or --database", code=2)
    if database and not re.fullmatch(r"[a-z_][a-z0-9_]*", database):
        raise Exit(f"--database {database!r}: use a plain PostgreSQL name (a-z, 0-9, _)",
                   code=2)
    stack, _ = _stack(c)
    old = Connection(source, config=c.config, connect_kwargs=dict(c.connect_kwargs))

    def work() -> None:
        open_connection(c)
        open_connection(old)
        if path:
            if direct:
                # The new host logs in to the old one with your key, via your agent.
                c.forward_agent = True
                report = copy_files_direct(old, path, c, to or path, direct, say, dry=dry,
                                           delete=delete)
            else:
                report = copy_files(old, path, c, to or path, say, dry=dry, delete=delete)
            if dry:
                for line in report.would or ["nothing would change"]:
                    say(f"  {line}")
            else:
                say(f"files: {report.copied} copied ({report.bytes} bytes), "
                    f"{report.unchanged} unchanged, {report.deleted} deleted; "
                    f"verified: {report.verified} entries match the source's manifest")
        if database:
            container = stack.container_name(service)
            result = copy_database(old, c, container, database, say,
                                   dry=dry)
            counts = ", ".join(f"{t} {n}" for t, n in result.tables.items())
            say(f"database {database}: {'restored' if result.restored else 'unchanged'}; "
                f"rows verified: {counts}")

    _guard(work)


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    for row in [header, *rows]:
        say("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=False)).rstrip())


def _collection(name: str, default: str, tasks: dict[str, Any]) -> Collection:
    collection = Collection(name)
    for task_name, body in tasks.items():
        collection.add_task(body, task_name, default=task_name == default)
    return collection


def namespace(root: str | Path, stack_file: str = "stack.py") -> Collection:
    """The task collection for the repository at `root`; its tasks.py sets `ns = namespace(...)`."""
    images = _collection("images", "build",
                         {"build": images_build, "list": images_list, "base": images_base,
                          "push": images_push})
    networks = _collection("networks", "create", {"create": networks_create})
    containers = _collection("containers", "run", {"run": containers_run})
    export = _collection("export", "compose", {"compose": export_compose})
    server = _collection("server", "bootstrap", {"bootstrap": server_bootstrap})
    data = _collection("data", "copy", {"copy": data_copy})
    from .firewall.tasks import collection as firewall

    ns = Collection(deploy, plan, check, ps, logs, down, images, networks, containers, export,
                    server, data, firewall())
    ns.configure({"pojemnik": {"root": str(Path(root).resolve()), "stack": stack_file,
                               "docker_host": None}})
    return ns
