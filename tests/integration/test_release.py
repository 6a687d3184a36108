"""Release commands on a deployed scratch copy of the example (its app declares Django's
migrate): the command runs once, in a one-off container of the new version, before that
version starts, under requests every 20 ms with none failing; an unchanged redeploy runs
none; a failing or hanging one refuses the deploy and the old version keeps serving.
Counts and order are asserted, never times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import docker
import pytest

from .conftest import Copy, deployed_copy
from .test_update import Requests

pytestmark = pytest.mark.integration

EXAMPLE_RELEASE = 'release=None if swarm else "python3 /srv/app/manage.py migrate --noinput",'
# Records each run in the database, as a migration would change it.
RECORD = '''\
import os, sys
sys.path.insert(0, "/srv/app")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS released (version text, "
                   "at timestamptz DEFAULT clock_timestamp())")
    cursor.execute("INSERT INTO released (version) VALUES (%s)", [os.environ["APP_VERSION"]])
print("recorded", os.environ["APP_VERSION"])
'''


@pytest.fixture(scope="module")
def released(client: docker.DockerClient, stale_cleaned: None,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    yield from deployed_copy(client, tmp_path_factory, "release")


def declare_release(copy: Copy, release: str) -> None:
    stack = copy.root / "stack.py"
    text = stack.read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("release="))
    stack.write_text(text.replace(line, f"                {release}"))


def runs(copy: Copy) -> list[tuple[str, float]]:
    """The recorded releases: version and when (seconds since the epoch, the db's clock)."""
    result = copy.invoke("exec", "db", "psql -h /run/postgresql -U postgres -d app -tAc "
                         "\"SELECT version, extract(epoch FROM at) FROM released ORDER BY at\"")
    rows = [line.split("|") for line in result.stdout.splitlines() if "|" in line]
    return [(version, float(at)) for version, at in rows]


def started_at(client: docker.DockerClient, name: str) -> float:
    stamp = client.api.inspect_container(name)["State"]["StartedAt"]
    return datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()


def leftovers(client: docker.DockerClient, copy: Copy) -> list[str]:
    return [c["Names"][0] for c in client.api.containers(all=True, filters={
        "label": [f"pojemnik.project={copy.project}", "pojemnik.kind=oneoff"]})]


def test_the_example_declares_its_migrate_and_the_first_deploy_ran_it(released: Copy) -> None:
    assert EXAMPLE_RELEASE in (released.root / "stack.py").read_text()
    history = released.invoke("history").stdout
    assert "ok" in history


def test_the_release_runs_once_before_the_new_version_starts(
        client: docker.DockerClient, released: Copy) -> None:
    (released.root / "www/app.localhost/record_release.py").write_text(RECORD)
    declare_release(released, 'release="python3 /srv/app/record_release.py",')
    released.env["APP_VERSION"] = "2"  # every deploy of the module from here on
    with Requests(released, "app.localhost", "database: ok") as requests:
        result = released.invoke("deploy")
    assert requests.failures == []
    assert "app release | recorded 2" in result.stdout
    assert result.stdout.count("release command done") == 1
    [(version, at)] = runs(released)
    assert version == "2" and at < started_at(client, f"{released.project}-app")
    assert leftovers(client, released) == []


def test_an_unchanged_redeploy_runs_no_release(released: Copy) -> None:
    before = runs(released)
    result = released.invoke("deploy")
    assert "nothing to do" in result.stdout and "release command" not in result.stdout
    assert runs(released) == before


def test_a_failing_release_leaves_the_old_version_serving(
        client: docker.DockerClient, released: Copy) -> None:
    live = client.api.inspect_container(f"{released.project}-app")["Id"]
    declare_release(released, 'release="echo migrating; exit 7",')
    released.env["APP_VERSION"] = "3"
    with Requests(released, "app.localhost", "database: ok") as requests:
        result = released.invoke("deploy", check=False)
    assert result.returncode != 0
    assert "app release | migrating" in result.stdout
    assert "exit code 7" in result.stderr + result.stdout
    assert requests.failures == []
    assert client.api.inspect_container(f"{released.project}-app")["Id"] == live
    assert "refused" in released.invoke("history").stdout
    assert leftovers(client, released) == []


def test_a_hanging_release_is_killed_at_its_timeout(
        client: docker.DockerClient, released: Copy) -> None:
    live = client.api.inspect_container(f"{released.project}-app")["Id"]
    declare_release(released, 'release="echo waiting; sleep 600", release_timeout=3,')
    result = released.invoke("deploy", check=False)
    assert result.returncode != 0
    assert "still running after 3 s, so it was killed" in result.stderr + result.stdout
    assert client.api.inspect_container(f"{released.project}-app")["Id"] == live
    assert leftovers(client, released) == []


def test_a_rollback_across_the_releases_warns_and_shows_what_ran(released: Copy) -> None:
    """Back to the first release: the commands that ran since it went live are shown
    (the recording one, then the failing and the hanging one), none is run."""
    before = runs(released)
    result = released.invoke("rollback")
    assert "rollback: warning: app's release command" in result.stdout
    assert "app: what its release commands ran since the release it goes back to went " \
        "live (3):" in result.stdout
    shown = result.stdout.split("went live (3):", 1)[1]
    assert shown.index("`python3 /srv/app/record_release.py`: ok") < \
        shown.index("    | recorded 2") < shown.index("`echo migrating; exit 7`: FAILED "
                                                     "(exit 7)") < shown.index("    | migrating")
    assert "`echo waiting; sleep 600`: FAILED (exit -1)" in shown
    assert runs(released) == before  # nothing ran
