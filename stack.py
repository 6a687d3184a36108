"""The example stack: the article's server, declared once.

One proxy on the `services` network publishing 80/443 and serving two static sites,
a PHP site and a Django site behind it, and a database on the `isolated` network
only (no route out), reached by the PHP and Django containers, which sit on both.

Least privilege follows the declaration: the database takes the app's role only from
the isolated network's subnet, and php-fpm answers only the proxy's address, so both
are passed to those containers from here (and move when `.env` changes a subnet).
"""

from pathlib import Path

from pojemnik import (
    Acme,
    Backup,
    Bind,
    Firewall,
    Image,
    Job,
    Limits,
    Network,
    Port,
    Postgres,
    Reload,
    Secret,
    SecretMount,
    Service,
    Settings,
    Stack,
    Started,
    StartFirst,
    StopFirst,
    Tmpfs,
    Upstreams,
    Volume,
    VolumeMount,
    fixed_address,
)
from pojemnik.declaration.tls import LETS_ENCRYPT

DATABASE = {"DB_HOST": "db", "DB_NAME": "app", "DB_USER": "app",
            "DB_PASSWORD_FILE": "/run/secrets/db_password"}


def declare(settings: Settings) -> Stack:
    isolated = Network("isolated", subnet=settings["ISOLATED_SUBNET"], internal=True)
    services = Network("services", subnet=settings["SERVICES_SUBNET"])
    proxy = proxy_service(settings)
    tls = certificates(settings)  # none ordered: no ACME image, no CA contacted (offline)
    # SSH from these networks only (comma-separated); unset: from anywhere.
    ssh_from = [s.strip() for s in settings.get("SSH_ALLOW_FROM", "").split(",") if s.strip()]
    return Stack(
        project=settings["POJEMNIK_PROJECT"],
        root=Path(__file__).parent,
        # "host": one Docker engine; "swarm": a Docker Swarm, deployed through a manager
        # (replicas below count there; a single host runs one container per service).
        target=settings.get("POJEMNIK_TARGET", "host"),
        base_image=settings["BASE_IMAGE"],
        networks=[isolated, services],
        images=[Image("proxy"), Image("php"), Image("webserver-nginx"), Image("postgres"),
                *([Image("acme")] if tls.ordered() else [])],
        # acme: the ACME client's account and state, only when certificates are ordered.
        volumes=[Volume("dbdata"), Volume("proxy-tls"), Volume("acme-webroot"),
                 *([Volume("acme")] if tls.ordered() else [])],
        tls=tls,
        secrets=[Secret("db_password"), Secret("django_secret_key", length=50),
                 Secret("backup_password", length=32)],
        backup=backups(settings),
        # `fab -H root@server firewall.apply`: SSH (on sshd's real port) and the proxy's
        # ports when published on a public address; everything else inbound is dropped.
        firewall=Firewall(allow={"ssh": ssh_from} if ssh_from else {}),
        services=[database_service(isolated), php_service(services, proxy),
                  app_service(settings), proxy],
        # Run by the server itself (`fab -H root@server agent.install`; a remote deploy
        # installs it), in a one-off container of app, never during a deploy:
        # Django's expired sessions out of the database. `invoke jobs.list` shows its
        # last run. Not on the Swarm target (yet).
        jobs=[] if settings.get("POJEMNIK_TARGET", "host") == "swarm" else [
            Job("clearsessions", service="app", schedule="daily", timeout=600,
                command="python3 /srv/app/manage.py clearsessions")],
    )


def backups(settings: Settings) -> Backup | None:
    """`invoke backup.run`: the database (pg_dump -Fc) and the proxy's certificates, into a
    restic repository encrypted with the secret backup_password (keep a copy of it off the
    server), daily by the server itself. Default: /var/backups/pojemnik/<project> on the
    host; off the server: BACKUP_REPOSITORY=sftp:user@otherhost:/srv/backups/pojemnik and
    BACKUP_KNOWN_HOSTS (docs/guides/backups.md). One host only: not on a Swarm."""
    if settings.get("POJEMNIK_TARGET", "host") != "host":
        return None
    return Backup(dumps=[Postgres("db", database="app")], volumes=["proxy-tls"],
                  repository=settings.get("BACKUP_REPOSITORY", ""),
                  known_hosts=settings.get("BACKUP_KNOWN_HOSTS", ""))


def certificates(settings: Settings) -> Acme:
    """Real certificates (docs/guides/certificates.md): ordered over HTTP-01 once
    ACME_EMAIL is set, for the names that are not under .localhost/.test."""
    return Acme(names=[n.strip() for n in settings.get("ACME_NAMES", "").split(",") if n.strip()],
                email=settings.get("ACME_EMAIL", ""),
                directory=settings.get("ACME_DIRECTORY", LETS_ENCRYPT),
                ca_certificates=settings.get("ACME_CA_CERTIFICATES", ""),
                renew_days=settings.int("ACME_RENEW_DAYS", 30))


def proxy_service(settings: Settings) -> Service:
    """nginx in front: publishes 80/443, serves the static sites, proxies PHP and Django."""
    publish = settings["PUBLISH_ADDRESS"]
    return Service(
        "proxy",
        image="proxy",
        networks={"services": 3},
        ports=[Port(settings.int("HTTP_PORT", 80), 8080, publish),
               Port(settings.int("HTTPS_PORT", 443), 8443, publish)],
        mounts=[Bind("config/nginx", "/etc/nginx"),
                Bind("www/updates.localhost", "/srv/updates.localhost"),
                Bind("www/packages.localhost", "/srv/packages.localhost"),
                Bind("www/php.localhost", "/srv/php.localhost"),
                VolumeMount("proxy-tls", "/var/lib/proxy-tls"),
                # /.well-known/acme-challenge/ on port 80, written by the ACME client.
                VolumeMount("acme-webroot", "/var/lib/acme-webroot", read_only=True),
                Tmpfs("/tmp", size="16m")],
        limits=Limits(memory="64m", cpus=1.0, pids=100),
        # Started, not ready: nginx starts on the upstreams' fixed addresses whether they
        # answer yet or not (502 until they do), so all boot at once; `down` still stops
        # the proxy first. (A plain name would wait until the service is ready.)
        depends_on=[Started("php"), Started("app")],
        stop_signal="SIGQUIT",  # nginx: graceful (finish requests; SIGTERM: fast)
        # `upstream app {...}` / `upstream php {...}`, written by pojemnik with each
        # service's current address: switched (and reloaded) by a start-first update.
        upstreams=Upstreams(target="/etc/pojemnik/upstreams", ports={"app": 8080, "php": 9000}),
        # Edited config/nginx/ (or upstreams): `nginx -t` first, then a graceful
        # reload that returns once the new workers (with the new config) are up
        # and the old ones have finished their requests.
        reload=Reload(check=["nginx", "-t"], command=["proxy-reload"]),
    )


def database_service(isolated: Network) -> Service:
    """PostgreSQL, on the isolated network only (no route out)."""
    return Service(
        "db",
        image="postgres",
        networks={"isolated": 3},
        mounts=[VolumeMount("dbdata", "/var/lib/postgresql/data"),
                SecretMount("db_password"),
                Tmpfs("/run/postgresql", size="1m")],
        # pg_hba: role app, database app, from the isolated subnet only.
        environment={"POSTGRES_PASSWORD_FILE": "/run/secrets/db_password",
                     "DB_NAME": "app", "DB_USER": "app",
                     "DB_ALLOWED_NETWORKS": isolated.subnet},
        limits=Limits(memory="256m", cpus=1.0, pids=100),
        # PostgreSQL's PID 1: SIGINT = fast shutdown (rolls back open transactions,
        # then a clean checkpoint); SIGTERM would wait for every client to leave.
        stop_signal="SIGINT", stop_grace=30,
        # State: never two on one data directory. Before the old one stops, a dump.
        update=StopFirst(before=["sh", "-c", "pg_dumpall -h /run/postgresql -U postgres"
                                 " > /var/lib/postgresql/data/before-update.sql"]),
    )


def php_service(services: Network, proxy: Service) -> Service:
    """php-fpm, answering the proxy's address only."""
    return Service(
        "php",
        image="php",
        networks={"services": 4, "isolated": 4},
        mounts=[Bind("www/php.localhost", "/srv/php.localhost"),
                SecretMount("db_password"),
                Tmpfs("/tmp", size="16m")],
        # FastCGI from the proxy only (listen.allowed_clients).
        environment={**DATABASE, "FPM_ALLOWED_CLIENTS": fixed_address(services, proxy)},
        limits=Limits(memory="128m", cpus=1.0, pids=100),
        depends_on=[Started("db")],  # PHP connects per request, not at start
        stop_signal="SIGQUIT",  # php-fpm: graceful (SIGTERM would be immediate)
        # Stateless: an update starts the new container beside the old one, on .104.
        update=StartFirst(standby={"services": 104, "isolated": 104}),
        replicas=2,
    )


def app_service(settings: Settings) -> Service:
    """Django under uWSGI, with its own nginx."""
    swarm = settings.get("POJEMNIK_TARGET", "host") == "swarm"
    return Service(
        "app",
        image="webserver-nginx",
        networks={"services": 5, "isolated": 5},
        mounts=[Bind("config/webserver-nginx", "/etc/webserver"),
                Bind("www/app.localhost", "/srv/app"),
                SecretMount("db_password"), SecretMount("django_secret_key"),
                Tmpfs("/tmp", size="16m")],
        # APP_VERSION is shown on the page; APP_FAIL_HEALTH=1 fails the
        # healthcheck on purpose, to see what a failed deploy does.
        environment={**DATABASE, "APP_VERSION": settings.get("APP_VERSION", "1"),
                     "APP_FAIL_HEALTH": settings.get("APP_FAIL_HEALTH", "0")},
        limits=Limits(memory="192m", cpus=1.0, pids=100),
        depends_on=[Started("db")],  # Django connects per request (CONN_MAX_AGE 0)
        # The image's init (tini, then webserver-init) passes SIGTERM on at once:
        # uWSGI TERM, nginx QUIT, both graceful.
        stop_signal="SIGTERM",
        update=StartFirst(standby={"services": 105, "isolated": 105}),
        replicas=2,
        # Django's migrations, once per deploy that changes the app, in a one-off
        # container of the new version before it takes traffic (a failure keeps
        # the old one serving). The Swarm target does not run them (yet).
        release=None if swarm else "python3 /srv/app/manage.py migrate --noinput",
        # Edited config or Django code: nginx reloads, and the init (PID 1, tini,
        # then webserver-init) passes SIGHUP to uWSGI, whose master reloads the
        # code once its workers have finished their requests (which wait
        # meanwhile); no container is recreated. Live when the master has loaded
        # the code again (its post-app hook's marker).
        reload=Reload(
            # nginx's config, and Django's own check of the code (it imports
            # settings, URLs and views: a syntax error stops here, while the
            # running uWSGI keeps the code it loaded).
            check=["sh", "-c", "nginx -t -c /etc/webserver/nginx.conf && "
                   "python3 /srv/app/manage.py check"],
            command=["sh", "-c", "rm -f /tmp/uwsgi-app-loaded && "
                     "nginx -s reload -c /etc/webserver/nginx.conf && kill -HUP 1"],
            live=["test", "-e", "/tmp/uwsgi-app-loaded"],
            watch=["config/webserver-nginx", "www/app.localhost"],
        ),
    )
