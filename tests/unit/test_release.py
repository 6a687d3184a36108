"""Release commands, pure parts: what is checked in the declaration, which deploy actions
run one, the one-off it runs in (the new version's), and the waves it changes. The
command itself runs for real in tests/integration/test_release.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
from stackbuilders import one, with_service
from swarmbuilders import on_swarm

from pojemnik import Stack
from pojemnik.declaration.model import LABEL_KIND
from pojemnik.declaration.order import start_waves
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.operations.oneoff.release import CHANGING, SaidLines, not_run_backwards
from pojemnik.planning import plan as p
from pojemnik.planning.oneoff import ONEOFF_KIND, release_spec
from pojemnik.planning.spec import container_spec


def test_a_release_command_is_valid_on_the_host_target(stack: Stack) -> None:
    assert check_declaration(with_service(stack, "php", release="php migrate.php")) == []


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"release": "  "}, "services.php.release", "is not a command"),
    ({"release": "true", "release_timeout": 0}, "services.php.release_timeout",
     "not a number of seconds"),
])
def test_a_bad_release_names_its_field(stack: Stack, changes: dict[str, object], field: str,
                                       words: str) -> None:
    problem = one(check_declaration(with_service(stack, "php", **changes)))
    assert problem.where == f"stack.py: {field}" and words in problem.message


def test_the_swarm_target_refuses_a_release_command_with_the_fix(stack: Stack) -> None:
    problem = one(check_declaration(on_swarm(with_service(stack, "php", release="true"))))
    assert problem.where == "stack.py: services.php.release"
    assert "Swarm target does not run release commands" in problem.message
    assert "before the deploy" in problem.fix and "--mode replicated-job" in problem.fix
    assert f"--network {stack.project}-services" in problem.fix  # its own networks


def test_the_release_runs_in_a_one_off_of_the_new_version(example: Stack) -> None:
    new = container_spec(example, example.service("app"))
    assert new.release == "python3 /srv/app/manage.py migrate --noinput"
    once = release_spec(new, token="aa11bb")
    assert once.name == f"{new.name}-release-aa11bb" and once.image == new.image
    assert once.command == ["sh", "-c", new.release] and once.release is None
    assert once.environment == new.environment and once.mounts == new.mounts
    assert all(a.ip is None and not a.aliases for a in once.networks)
    assert once.labels[LABEL_KIND] == ONEOFF_KIND and once.ports == []


def test_the_release_is_not_part_of_the_container_s_fingerprint(example: Stack) -> None:
    """Changing only the command must not replace a serving container."""
    spec = container_spec(example, example.service("app"))
    assert replace(spec, release="other").fingerprint() == spec.fingerprint()


def test_a_new_image_or_config_runs_it_a_restart_of_a_stopped_one_does_not() -> None:
    assert set(CHANGING) == {p.CREATE, p.RECREATE, p.RELOAD}
    assert p.START not in CHANGING


def test_a_service_with_a_release_waits_for_its_dependencies_ready(example: Stack) -> None:
    assert start_waves(example) == [["db", "php"], ["app", "proxy"]]
    without = with_service(example, "app", release=None)
    assert start_waves(without) == [["db", "app", "php", "proxy"]]


def test_the_output_is_said_line_by_line() -> None:
    """Frames split lines anywhere, and the engine flushes after each: a line is said
    once, whole; the last one, without a newline, when the command has ended."""
    said: list[str] = []
    lines = SaidLines(said.append, "app | ")
    lines.write(b"one\ntw")
    lines.flush()
    lines.write(b"o\r\nthree")
    lines.flush()
    assert said == ["app | one", "app | two"]
    lines.finish()
    assert said == ["app | one", "app | two", "app | three"]


def test_a_rollback_runs_no_release_command_and_says_so(example: Stack) -> None:
    app = container_spec(example, example.service("app"))
    php = container_spec(example, example.service("php"))
    plan = p.Plan(example.project, [p.Action(p.RECREATE, app.name, "rollback", container=app),
                                    p.Action(p.RECREATE, php.name, "rollback", container=php)])
    said: list[str] = []
    back = not_run_backwards(plan, said.append)
    assert [a.container.release for a in back.actions if a.container] == [None, None]
    [warning] = said
    assert "app's release command" in warning and "not run backwards" in warning
    assert back.actions[0].container == replace(app, release=None)


def test_a_rollback_shows_what_the_release_commands_ran_since_its_target(
        example: Stack) -> None:
    from pojemnik.operations.records import release_runs as r

    app = container_spec(example, example.service("app"))
    plan = p.Plan(example.project, [p.Action(p.RECREATE, app.name, "rollback", container=app)])
    ran = r.ReleaseRun("app", "migrate", 1_800_000_000 * 10**9, 0,
                       ("Applying blog.0002_post_summary... OK",))
    failed = replace(ran, started=ran.started + 10**9, code=7, output=("boom",))
    said: list[str] = []
    not_run_backwards(plan, said.append, {"app": [ran, failed]})
    assert "not run backwards" in said[0]
    assert "app: what its release commands ran since the release it goes back to" in said[1]
    assert said[2:] == ["  2027-01-15 08:00:00 UTC `migrate`: ok",
                        "    | Applying blog.0002_post_summary... OK",
                        "  2027-01-15 08:00:01 UTC `migrate`: FAILED (exit 7)", "    | boom"]
    said.clear()
    not_run_backwards(plan, said.append, {"app": []})
    assert "no release command ran since" in said[1]
    said.clear()
    not_run_backwards(plan, said.append, {"app": None})  # none recorded: the warning alone
    assert len(said) == 1


def test_the_runs_are_kept_per_service_and_read_since_a_time(example: Stack) -> None:
    from pojemnik.operations.records import release_runs as r

    class Files:
        def __init__(self) -> None:
            self.kept: dict[tuple[str, str], tuple[str, int]] = {}

        def read(self, directory: str, name: str) -> str | None:
            return self.kept.get((directory, name), (None, 0))[0]

        def write(self, directory: str, name: str, content: str, mode: int = 0o644) -> None:
            self.kept[(directory, name)] = (content, mode)

    files = Files()
    runs = [r.ReleaseRun("app", "migrate", n, 0, (f"run {n}",)) for n in range(r.KEEP + 3)]
    assert r.load(example, files, "app") is None  # type: ignore[arg-type]
    r.save(example, files, runs[:3], print)  # type: ignore[arg-type]
    r.save(example, files, runs[3:], print)  # type: ignore[arg-type]
    kept = r.load(example, files, "app")  # type: ignore[arg-type]
    assert kept == runs[-r.KEEP:]
    assert r.since(kept, r.KEEP + 1) == runs[-2:]
    assert {mode for _, mode in files.kept.values()} == {0o600}
    said: list[str] = []
    lines = SaidLines(said.append, "| ")
    lines.write(b"".join(f"{n}\n".encode() for n in range(r.TAIL + 5)))
    assert list(lines.tail) == [str(n) for n in range(5, r.TAIL + 5)]
