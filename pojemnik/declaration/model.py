"""The declaration: what the stack should be, as plain data.

Nothing here talks to Docker. A stack is built once (usually by `stack.py`'s
`declare(settings)`), then validated, compared with what the engine reports,
and turned into a plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .alerts import Alerts
from .backup import Backup
from .firewall import Firewall
from .jobs import Job
from .mounts import Bind, Mount, SecretMount, Tmpfs, VolumeMount  # noqa: F401 (re-exported)
from .origins import Origins
from .policy import StopFirst, UpdatePolicy, Upstreams
from .swarm import HOST, REPLICATED, Swarm
from .tls import Acme

LABEL_PROJECT = "pojemnik.project"
LABEL_SERVICE = "pojemnik.service"
LABEL_KIND = "pojemnik.kind"
LABEL_NAME = "pojemnik.name"
LABEL_CONTEXT_HASH = "pojemnik.context-hash"
LABEL_SPEC_HASH = "pojemnik.spec-hash"
LABEL_BASE = "pojemnik.base"
LABEL_CONFIG_HASH = "pojemnik.config-hash"
LABEL_REFRESHED = "pojemnik.refreshed"
LABEL_HEAL_AFTER = "pojemnik.heal-after"


@dataclass(frozen=True)
class Network:
    """A bridge network with a fixed subnet (`docker network create --subnet`)."""

    name: str
    subnet: str
    gateway: str | None = None
    internal: bool = False


@dataclass(frozen=True)
class Image:
    """An image built from `images/<name>/` (or `context`), like `docker image build`."""

    name: str
    context: str | None = None
    dockerfile: str = "Dockerfile"
    build_args: Mapping[str, str] = field(default_factory=dict)

    @property
    def context_path(self) -> str:
        return self.context or f"images/{self.name}"


@dataclass(frozen=True)
class Volume:
    """A named volume for data that must outlive containers (databases)."""

    name: str


@dataclass(frozen=True)
class Secret:
    """A file with a random value, made on first deploy and never printed.

    Kept in `.secrets/<project>/<name>` (git-ignored) and mounted read-only
    into the services that list it, at `/run/secrets/<name>`.
    """

    name: str
    length: int = 32


@dataclass(frozen=True)
class Port:
    """`-p address:host:container/protocol`."""

    host: int
    container: int
    address: str = "127.0.0.1"
    protocol: str = "tcp"


@dataclass(frozen=True)
class Healthcheck:
    """Overrides the image's HEALTHCHECK. `test` is run without a shell (exec form)."""

    test: Sequence[str]
    interval: float = 10.0
    timeout: float = 5.0
    retries: int = 3
    start_period: float = 10.0


@dataclass(frozen=True)
class Reload:
    """How a running service takes edited config without being recreated.

    When the content under `watch` (repository paths; default: the service's bind
    mounts under config/) changes, `check` runs inside the container first (nginx -t);
    if it fails, the running config is kept and the deploy fails with its output.
    Then `command` runs (nginx -s reload). A reload returns once the new config is live:
    when `live` is declared, once that command succeeds inside the container; else once
    the container runs processes that were not there before (new workers).
    """

    command: Sequence[str]
    check: Sequence[str] | None = None
    watch: Sequence[str] = ()
    live: Sequence[str] | None = None


@dataclass(frozen=True)
class Limits:
    """Per-container resource limits. Defaults suit a 2 GB host running a handful of services."""

    memory: str = "128m"
    cpus: float = 1.0
    pids: int = 100


@dataclass(frozen=True)
class Logs:
    """Log rotation (Docker's json-file driver): at most `max_files` files of `max_size`
    each per container, so logs never fill a small disk. The default: 10m x 3."""

    max_size: str = "10m"
    max_files: int = 3


class Started(str):
    """In `depends_on`: a service that has to be started first, not ready (Compose's
    `condition: service_started`), e.g. `depends_on=[Started("app")]`. Both then boot at
    once: for a proxy and the sites behind it, or an app that connects to its database
    per request. A plain name waits until that service is ready (its health command
    passes). Either way the deploy ends once every container is ready, and `down`
    stops the dependent first."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Started({str.__repr__(self)})"


@dataclass(frozen=True)
class Service:
    """One container, like one `docker run` line of the bash script.

    `networks` maps a network name to the container's address on it: an int is
    the host number inside the subnet (3 -> 10.0.20.3 in 10.0.20.0/24), so fixed
    addresses follow the subnet when it is changed in `.env`; a string is a full
    address; None lets Docker choose.
    """

    name: str
    image: str
    networks: Mapping[str, int | str | None] = field(default_factory=dict)
    ports: Sequence[Port] = ()
    mounts: Sequence[Mount] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    command: Sequence[str] | None = None
    restart: str = "unless-stopped"
    healthcheck: Healthcheck | None = None
    limits: Limits = field(default_factory=Limits)
    depends_on: Sequence[str] = ()
    user: str | None = None
    read_only: bool = True
    cap_add: Sequence[str] = ()
    reload: Reload | None = None
    # The host's watcher (`healing.install`) restarts the container once its health
    # check (declared, or the image's) failed this many times in a row; None: never.
    heal_after: int | None = 3
    # Ready: the health command (declared, else the image's) passes, probed right after
    # start; on timeout the deploy fails with the last log lines and probe output.
    ready_timeout: float = 120.0
    stop_signal: str | None = None  # None: the image's STOPSIGNAL
    stop_grace: float = 10.0  # seconds between the stop signal and SIGKILL
    update: UpdatePolicy = field(default_factory=StopFirst)
    upstreams: Upstreams | None = None  # a proxy: upstream files pojemnik writes
    # Run once (`sh -c`) in a one-off container of the new version before it takes traffic,
    # when a deploy changes the service (e.g. "python manage.py migrate --noinput").
    release: str | None = None
    release_timeout: float = 600.0  # seconds; then it is killed and the deploy fails
    logs: Logs | None = None  # None: the stack's `logs`
    # The Swarm target only (a single host runs one container per service):
    replicas: int = 1
    mode: str = REPLICATED  # or "global": a task on every node `placement` allows
    placement: Sequence[str] = ()  # constraints, e.g. "node.labels.edge==true"
    endpoint_mode: str | None = None  # "dnsrr" or "vip"; None: Stack.swarm.endpoint_mode
    publish_mode: str | None = None  # "host" or "ingress"; None: Stack.swarm.publish_mode

    def watched(self) -> list[str]:
        """Repository paths whose content is live config of this service."""
        if self.reload is None:
            return []
        if self.reload.watch:
            return list(self.reload.watch)
        return [m.source for m in self.mounts
                if isinstance(m, Bind) and m.source.split("/")[0] == "config"]


@dataclass(frozen=True)
class Stack:
    """Everything declared for one project. `root` is the repository the paths are relative to."""

    project: str
    root: Path
    networks: Sequence[Network] = ()
    images: Sequence[Image] = ()
    volumes: Sequence[Volume] = ()
    secrets: Sequence[Secret] = ()
    services: Sequence[Service] = ()
    source: str = "stack.py"
    base_image: str = "debian:bookworm-slim"
    # Rebuild images without the layer cache once their packages are this old, so
    # `apt-get update && upgrade` layers do not silently go stale. None: never.
    refresh_after_days: int | None = 30
    # Releases kept per service (`<project>/releases:<service>-<n>`, what `rollback` goes
    # back to), the running one and rollback's always among them; older ones are untagged
    # after each deploy and by `invoke prune`.
    keep_images: int = 5
    # Where the engine's host sees the repository's files; None: `root` itself (a local
    # engine). A remote deploy mirrors the mounted files there first.
    mount_root: str | None = None
    firewall: Firewall | None = None  # the server's (`firewall.apply`); None: not managed
    alerts: Alerts | None = None  # where alerts go (email, webhook); None: nowhere
    backup: Backup | None = None  # what `invoke backup.run` keeps; None: no backups
    # Memory kept for the host itself (the kernel, sshd, Docker): the services' memory
    # limits together may use the host's memory less this. Docker's units ("256m").
    memory_reserve: str = "256m"
    logs: Logs = field(default_factory=Logs)  # every container's rotation (or its own)
    # Where the stack runs: "host" (one engine) or "swarm" (a cluster, through a manager).
    target: str = HOST
    swarm: Swarm = field(default_factory=Swarm)
    tls: Acme | None = None  # real certificates (ACME) for the proxy; None: self-signed
    jobs: Sequence[Job] = ()  # commands the server runs on a schedule (the agent)
    # Which `.env` variable each value read from the settings came from (set by the
    # loader), so problems in a value name the variable to change.
    origins: Origins = field(default_factory=dict, compare=False, repr=False)

    # Docker object names are global on the engine: prefix them so a second
    # copy (staging) can run beside the first.
    def network_name(self, network: str) -> str:
        return f"{self.project}-{network}"

    def container_name(self, service: str) -> str:
        return f"{self.project}-{service}"

    def volume_name(self, volume: str) -> str:
        return f"{self.project}-{volume}"

    def image_tag(self, image: str) -> str:
        return f"{self.project}/{image}:latest"

    def secret_path(self, secret: str) -> Path:
        return self.root / ".secrets" / self.project / secret

    def secrets_dir(self) -> str:
        return f".secrets/{self.project}"

    def host_path(self, relative: str) -> str:
        """A repository path as the engine's host sees it (for bind mounts)."""
        if self.mount_root is None:
            return str((self.root / relative).resolve())
        return f"{self.mount_root.rstrip('/')}/{relative}"

    def config_paths(self) -> list[str]:
        """Repository paths bind-mounted read-only (config, code, sites): mirrored to a
        remote host, the checkout being their truth, except what lies under a data path
        (a writable bind inside a read-only one: the mirror never enters it)."""
        data = set(self.data_paths())
        return sorted({_normal(m.source) for s in self.services for m in s.mounts
                       if isinstance(m, Bind) and m.read_only} - data)

    def data_paths(self) -> list[str]:
        """Repository paths bind-mounted writable somewhere: data the containers write
        (uploads). On a remote host they are created if missing, never overwritten or
        pruned, also when they lie inside a mirrored directory."""
        return sorted({_normal(m.source) for s in self.services for m in s.mounts
                       if isinstance(m, Bind) and not m.read_only})

    def upstreams_dir(self) -> str:
        """Where pojemnik writes the proxies' upstream files (a repository path; on a remote
        host, under the stack directory). Never mirrored: pojemnik owns it."""
        return f".pojemnik/{self.project}/upstreams"

    def state_path(self) -> Path:
        """Local record of what was applied that the engine cannot hold (reloaded config)."""
        return self.root / ".pojemnik" / f"{self.project}.json"

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def network(self, name: str) -> Network:
        return next(n for n in self.networks if n.name == name)

    def image(self, name: str) -> Image | None:
        return next((i for i in self.images if i.name == name), None)

    def image_ref(self, service: Service) -> str:
        """The tag a service runs: a declared image's project tag, or an external reference."""
        return self.image_tag(service.image) if self.image(service.image) else service.image


def _normal(path: str) -> str:
    """A repository path as the mirror lists it ("./www/app/" is "www/app")."""
    return PurePosixPath(path).as_posix()
