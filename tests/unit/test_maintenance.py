"""Maintenance mode, pure parts: the nginx files it writes (which requests get the page, the
page and its escaping), the checks of its input (sites with a did-you-mean, networks, the
message), the example's sites and which include the page, a release command's gate (on
for the command, off after it, also after a failure; maintenance by hand left on), and
the declaration's `Release`. nginx takes these files for real in
tests/integration/test_maintenance.py."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest
from stackbuilders import one, with_service

from pojemnik import Release, Stack
from pojemnik.declaration.release import needs_maintenance
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.errors import OperationError
from pojemnik.operations.maintenance._sites import read_sites
from pojemnik.operations.maintenance.switch import ReleaseMaintenance
from pojemnik.planning import maintenance as m
from pojemnik.planning.upstreams import proxy_upstreams

ON = m.Maintenance(on=True, sites=("app.localhost",), allow=("10.0.0.0/8",), since="now",
                   by="me@here")


def test_off_the_files_hold_no_directive() -> None:
    for name, text in m.files(m.Maintenance()).items():
        if name != m.STATE_FILE:
            assert all(line.startswith("#") for line in text.splitlines()), name


def test_on_the_named_sites_get_the_page_unless_allowed_or_looped_back() -> None:
    http = m.render_http(ON)
    assert "    default 0;\n    app.localhost 1;\n" in http  # only the named site
    assert "127.0.0.0/8 1;" in http and "::1/128 1;" in http  # the proxy's health check
    assert "10.0.0.0/8 1;" in http
    assert "~^/\\.well\\-known/acme\\-challenge/ 0;" in http  # renewals keep working
    assert "    101 1;\n" in http  # a site in maintenance, not allowed, not ACME
    every = m.render_http(replace(ON, sites=()))
    assert "hostnames;\n    default 1;\n}" in every


def test_the_page_is_a_503_with_retry_after_and_the_escaped_message() -> None:
    site = m.render_site(replace(ON, message='<b>"$x"</b> \\ & more', retry_after=120))
    assert "rewrite ^ /.pojemnik-maintenance last;" in site and "internal;" in site
    assert "add_header Retry-After 120 always;" in site
    body = site.split('return 503 "')[1]
    assert "&lt;b&gt;&quot;&#36;x&quot;&lt;/b&gt; \\\\ &amp; more" in body
    assert "$" not in body  # nginx would read a variable
    assert '<meta charset=\\"utf-8\\">' in body


def test_the_state_round_trips_and_an_unreadable_one_is_off() -> None:
    assert m.from_json(m.to_json(ON)) == ON
    assert m.from_json(None) == m.Maintenance() and m.from_json("{oops") == m.Maintenance()
    assert ON.describe() == ("maintenance: ON for app.localhost since now (by me@here); "
                             "passing through: 10.0.0.0/8")


def test_an_unknown_site_is_named_with_the_nearest_one() -> None:
    chosen, problems = m.chosen_sites(["App.Localhost.", "app.localhots", "zzz"],
                                      ["app.localhost", "php.localhost"])
    assert chosen == ("app.localhost",)
    assert "no site 'app.localhots'" in problems[0] and \
        "did you mean 'app.localhost'?" in problems[0]
    assert "did you mean" not in problems[1] and "php.localhost" in problems[1]


@pytest.mark.parametrize(("given", "found"), [
    (["203.0.113.7"], ("203.0.113.7/32",)),
    (["10.0.20.9/24", "10.0.20.0/24"], ("10.0.20.0/24",)),
    (["2001:db8::1"], ("2001:db8::1/128",)),
])
def test_networks_are_normalised(given: list[str], found: tuple[str, ...]) -> None:
    assert m.normal_allow(given) == (found, [])


def test_a_bad_network_or_message_is_a_problem() -> None:
    assert "'10.0.0.300' is not an address" in m.normal_allow(["10.0.0.300"])[1][0]
    assert m.message_problem(" ") and m.message_problem("x" * 2001)
    assert m.message_problem("a\x1bb") and m.message_problem("back\nsoon") is None


def test_the_example_s_sites_include_the_page_but_its_catch_all_does_not(
        example: Stack) -> None:
    sites = read_sites(example)
    assert sites.known() == ["app.localhost", "packages.localhost", "php.localhost",
                             "updates.localhost"]
    assert sites.covered == set(sites.known()) and sites.missing(()) == []
    catch_all = [s for s in sites.servers if not s.names]
    assert [s.file for s in catch_all] == ["config/nginx/sites/00-default.conf"]


def test_a_site_without_the_include_is_named_with_the_line_to_add() -> None:
    [server] = m.servers("sites/x.conf", "server {\n  server_name x.org www.x.org; # hi\n"
                         "  location / { return 200; }\n}\n")
    assert server.names == ("x.org", "www.x.org")
    assert not m.includes_page(server, "/etc/pojemnik/upstreams", {})
    assert m.include_line("/etc/pojemnik/upstreams/") == \
        "include /etc/pojemnik/upstreams/maintenance/*.conf;"


class MemoryFiles:
    def __init__(self) -> None:
        self.files: dict[tuple[str, str], str] = {}

    def read(self, directory: str, name: str) -> str | None:
        return self.files.get((directory, name))

    def write(self, directory: str, name: str, content: str, mode: int = 0o644) -> None:
        self.files[(directory, name)] = content

    def append(self, directory: str, name: str, line: str) -> None:
        raise AssertionError("not used")


class NoEngine:
    def state(self, name: str) -> str | None:
        return None  # no proxy running: the files alone


def gate(example: Stack) -> tuple[ReleaseMaintenance, MemoryFiles]:
    files = MemoryFiles()
    proxies = proxy_upstreams(example)
    return ReleaseMaintenance(proxies, NoEngine(), files, lambda _: None), files  # type: ignore[arg-type]


def state(example: Stack, files: MemoryFiles) -> m.Maintenance:
    return m.from_json(files.read(proxy_upstreams(example)[0].directory, m.STATE_FILE))


def test_a_release_s_maintenance_is_on_during_it_and_off_after_a_failure(
        example: Stack) -> None:
    release, files = gate(example)
    with pytest.raises(RuntimeError), release.during("app"):
        assert state(example, files).on and state(example, files).by == m.RELEASE
        with release.during("php"):  # two at once: on until both are done
            pass
        assert state(example, files).on
        raise RuntimeError("migrate failed")
    assert not state(example, files).on
    directory = proxy_upstreams(example)[0].directory
    assert files.read(f"{directory}/maintenance", "site.conf") == m.render_site(m.Maintenance())


def test_maintenance_on_by_hand_stays_on_after_a_release(example: Stack) -> None:
    release, files = gate(example)
    directory = proxy_upstreams(example)[0].directory
    files.write(directory, m.STATE_FILE, m.to_json(ON))
    with release.during("app"):
        pass
    assert state(example, files) == ON


def test_release_is_the_command_with_maintenance_asked() -> None:
    command = Release("python manage.py migrate", maintenance=True)
    assert command == "python manage.py migrate" and isinstance(command, str)
    assert needs_maintenance(command) and not needs_maintenance("python manage.py migrate")
    assert not needs_maintenance(Release("true"))
    assert pickle.loads(pickle.dumps(command)).maintenance is True
    assert repr(command) == "Release('python manage.py migrate', maintenance=True)"


def test_a_release_needing_maintenance_without_a_proxy_is_refused(stack: Stack) -> None:
    assert not any(s.upstreams for s in stack.services)  # the small stack has no proxy
    problem = one(check_declaration(with_service(stack, "php", release=Release(
        "php migrate.php", maintenance=True))))
    assert problem.where == "stack.py: services.php.release"
    assert "no service declares Upstreams" in problem.message
    assert check_declaration(with_service(stack, "php", release="php migrate.php")) == []


def test_the_example_may_declare_a_release_that_needs_maintenance(example: Stack) -> None:
    assert check_declaration(with_service(example, "app", release=Release(
        "python3 /srv/app/manage.py migrate --noinput", maintenance=True))) == []


def test_a_swarm_stack_is_refused_before_anything(example: Stack) -> None:
    from pojemnik.operations.maintenance.switch import turn_off

    with pytest.raises(OperationError, match="not supported on the Swarm target"):
        turn_off(replace(example, target="swarm"), NoEngine(), MemoryFiles(),  # type: ignore[arg-type]
                 lambda _: None, [])
