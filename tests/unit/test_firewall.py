"""The firewall's pure core: what is public, the rendered rulesets, validation, drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pojemnik import Firewall, Port, Service, Stack
from pojemnik.declaration.validate.firewall import firewall_problems
from pojemnik.planning.firewall import (
    DOCKER_CHAIN,
    INPUT_CHAIN,
    Facts,
    as_json,
    as_text,
    drift,
    openings,
    parse_port,
    parse_save,
    render,
    render_all,
    restore_of_live,
)

SERVER = Facts((2222,), from_server=True)


def stack_with(firewall: Firewall | None, address: str = "0.0.0.0") -> Stack:
    return Stack(project="demo", root=Path("/nowhere"), firewall=firewall, services=[
        Service("proxy", image="proxy", ports=[Port(80, 8080, address), Port(443, 8443, address)]),
        Service("db", image="postgres", ports=[Port(5432, 5432, "127.0.0.1")]),
    ])


def rules_of(firewall: Firewall, family: str = "v4", facts: Facts = SERVER) -> list[str]:
    ruleset = render(openings(stack_with(firewall), firewall, facts), family, firewall.ping)
    return ruleset.chains[INPUT_CHAIN] + ruleset.chains[DOCKER_CHAIN]


# --- what is public ----------------------------------------------------------------------

def test_defaults_open_ssh_on_its_real_port_and_the_publicly_published_ports() -> None:
    found = openings(stack_with(Firewall()), Firewall(), SERVER)
    assert [(o.port, o.protocol, o.sources) for o in found] == [
        (80, "tcp", ()), (443, "tcp", ()), (2222, "tcp", ())]
    assert found[2].why == ("ssh",) and found[0].why == ("service proxy",)


def test_ports_published_on_loopback_stay_closed() -> None:
    found = openings(stack_with(Firewall(), address="127.0.0.1"), Firewall(), SERVER)
    assert [o.port for o in found] == [2222]
    assert [o.port for o in openings(stack_with(Firewall(), "::1"), Firewall(), SERVER)] == [2222]


def test_declared_extras_allow_lists_and_switches() -> None:
    firewall = Firewall(public=[8080, "51820/udp"], stack_ports=False,
                        allow={"ssh": ["203.0.113.7", "2001:db8::/32"], 8080: ["10.1.0.0/16"]})
    found = {o.label: o for o in openings(stack_with(firewall), firewall, SERVER)}
    assert sorted(found) == ["2222/tcp", "51820/udp", "8080/tcp"]
    assert found["2222/tcp"].sources == ("203.0.113.7/32", "2001:db8::/32")
    assert found["8080/tcp"].sources == ("10.1.0.0/16",)
    assert found["51820/udp"].sources == ()
    no_ssh = Firewall(ssh=False)
    assert 2222 not in [o.port for o in openings(stack_with(no_ssh), no_ssh, SERVER)]


@pytest.mark.parametrize(("value", "parsed"), [
    (443, (443, "tcp")), ("443", (443, "tcp")), ("51820/udp", (51820, "udp")),
    (0, None), (70000, None), ("http", None), ("80/sctp", None), (True, None)])
def test_parse_port(value: int | str, parsed: tuple[int, str] | None) -> None:
    assert parse_port(value) == parsed


# --- the rendered rules ------------------------------------------------------------------

def test_v4_ruleset_exactly() -> None:
    firewall = Firewall(allow={"ssh": ["203.0.113.0/24"]})
    assert rules_of(firewall) == [
        "-A POJEMNIK-INPUT -i lo -j ACCEPT",
        "-A POJEMNIK-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A POJEMNIK-INPUT -p icmp -m icmp --icmp-type 3 -j ACCEPT",
        "-A POJEMNIK-INPUT -p icmp -m icmp --icmp-type 11 -j ACCEPT",
        "-A POJEMNIK-INPUT -p icmp -m icmp --icmp-type 12 -j ACCEPT",
        "-A POJEMNIK-INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT",
        "-A POJEMNIK-INPUT -m conntrack --ctstate INVALID -j DROP",
        "-A POJEMNIK-INPUT -p tcp -m tcp --dport 80 -j ACCEPT",
        "-A POJEMNIK-INPUT -p tcp -m tcp --dport 443 -j ACCEPT",
        "-A POJEMNIK-INPUT -s 203.0.113.0/24 -p tcp -m tcp --dport 2222 -j ACCEPT",
        "-A POJEMNIK-INPUT -j DROP",
        "-A POJEMNIK-DOCKER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        "-A POJEMNIK-DOCKER -i docker0 -j RETURN",
        "-A POJEMNIK-DOCKER -i br-+ -j RETURN",
        "-A POJEMNIK-DOCKER -i docker_gwbridge -j RETURN",
        "-A POJEMNIK-DOCKER -p tcp -m conntrack --ctorigdstport 80 -j RETURN",
        "-A POJEMNIK-DOCKER -p tcp -m conntrack --ctorigdstport 443 -j RETURN",
        "-A POJEMNIK-DOCKER -s 203.0.113.0/24 -p tcp -m conntrack --ctorigdstport 2222 -j RETURN",
        "-A POJEMNIK-DOCKER -o docker0 -j DROP",
        "-A POJEMNIK-DOCKER -o br-+ -j DROP",
        "-A POJEMNIK-DOCKER -o docker_gwbridge -j DROP",
    ]


def test_v6_ruleset_has_the_same_policy_and_the_icmpv6_networks_need() -> None:
    firewall = Firewall(allow={"ssh": ["203.0.113.0/24", "2001:db8::/48"]})
    rules = rules_of(firewall, "v6")
    assert rules[:2] == ["-A POJEMNIK-INPUT -i lo -j ACCEPT",
                         "-A POJEMNIK-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]
    for kind in (1, 2, 3, 4, 128):
        assert f"-A POJEMNIK-INPUT -p ipv6-icmp -m icmp6 --icmpv6-type {kind} -j ACCEPT" in rules
    for kind in (133, 134, 135, 136):  # neighbour/router discovery, from the link only
        assert (f"-A POJEMNIK-INPUT -p ipv6-icmp -m icmp6 --icmpv6-type {kind} "
                "-m hl --hl-eq 255 -j ACCEPT") in rules
    # v6 sources only; the v4 network of the allow-list is not in the v6 rules.
    assert "-A POJEMNIK-INPUT -s 2001:db8::/48 -p tcp -m tcp --dport 2222 -j ACCEPT" in rules
    assert not any("203.0.113" in r for r in rules)
    assert "-A POJEMNIK-INPUT -p tcp -m tcp --dport 443 -j ACCEPT" in rules
    assert "-A POJEMNIK-DOCKER -p tcp -m conntrack --ctorigdstport 443 -j RETURN" in rules
    assert rules[-3:] == ["-A POJEMNIK-DOCKER -o docker0 -j DROP",
                          "-A POJEMNIK-DOCKER -o br-+ -j DROP",
                          "-A POJEMNIK-DOCKER -o docker_gwbridge -j DROP"]
    v6 = render(openings(stack_with(firewall), firewall, SERVER), "v6")
    assert v6.chains[INPUT_CHAIN][-1] == "-A POJEMNIK-INPUT -j DROP"


def test_an_allow_list_of_one_family_closes_the_port_on_the_other() -> None:
    firewall = Firewall(allow={"ssh": ["203.0.113.0/24"]})
    v6 = rules_of(firewall, "v6")
    assert not any("--dport 2222" in r or "--ctorigdstport 2222" in r for r in v6)


def test_no_ping_without_ping_and_no_v6_without_ipv6() -> None:
    assert not any("--icmp-type 8 " in r for r in rules_of(Firewall(ping=False)))
    families = [r.family for r in render_all(stack_with(Firewall(ipv6=False)),
                                             Firewall(ipv6=False), SERVER)]
    assert families == ["v4"]


def test_restore_text_declares_only_our_chains_in_one_transaction() -> None:
    ruleset = render(openings(stack_with(Firewall()), Firewall(), SERVER), "v4")
    text = ruleset.restore_text(["a header"])
    lines = text.splitlines()
    assert lines[0] == "# a header" and lines[1] == "*filter" and lines[-1] == "COMMIT"
    assert [line for line in lines if line.startswith(":")] == [
        ":POJEMNIK-INPUT - [0:0]", ":POJEMNIK-DOCKER - [0:0]"]
    assert text.count("COMMIT") == 1
    # Docker's chains are never declared (that would flush them) nor flushed.
    assert not any(w in text for w in (":DOCKER", ":FORWARD", ":INPUT", "-F", "-X"))


def test_plan_text_and_json() -> None:
    stack = stack_with(Firewall(allow={"ssh": ["203.0.113.0/24"]}))
    assert stack.firewall is not None
    text = as_text(stack, stack.firewall, Facts())
    assert "22/tcp     from 203.0.113.0/24  (ssh)" in text
    assert "assumed: not asked a server" in text
    assert "# --- rules.v4 ---" in text and "# --- rules.v6 ---" in text
    document = json.loads(as_json(stack, stack.firewall, SERVER))
    assert document["ssh_ports"] == [2222] and document["ssh_ports_from_server"]
    assert [p["port"] for p in document["public"]] == [80, 443, 2222]
    assert document["rules"]["v4"][INPUT_CHAIN][-1] == "-A POJEMNIK-INPUT -j DROP"
    assert document["restore"]["v6"].startswith("# pojemnik firewall (IPv6)")


# --- validation --------------------------------------------------------------------------

def test_a_valid_declaration_has_no_problems() -> None:
    firewall = Firewall(public=[8080, "51820/udp"], allow={"ssh": ["203.0.113.7"],
                                                           443: ["2001:db8::/32"]})
    assert firewall_problems(stack_with(firewall), firewall) == []


def test_every_mistake_is_reported_with_its_field_and_fix() -> None:
    firewall = Firewall(public=[0, "http", 8080, "8080"],
                        allow={5432: ["10.0.0.0/8"], "ssh": [], 443: "10.0.0.1",  # type: ignore[dict-item]
                               80: ["10.0.0.1/8", "not-an-address"]})
    problems = firewall_problems(stack_with(firewall), firewall)
    text = "\n".join(str(p) for p in problems)
    assert "stack.py: firewall.public[0]: 0 is not a port" in text
    assert "firewall.public[1]: 'http' is not a port" in text
    assert "firewall.public[3]: '8080' is listed twice" in text
    assert "firewall.allow[5432]: port 5432 is not public" in text
    assert "firewall.allow['ssh']: an empty allow-list would close the port" in text
    assert "firewall.allow[443]: a single string" in text
    assert "'10.0.0.1/8' is not an address or network" in text
    assert "'not-an-address' is not an address or network" in text
    assert all(p.fix for p in problems) and len(problems) == 8


def test_no_firewall_declared_is_a_problem_that_says_how() -> None:
    [problem] = firewall_problems(stack_with(None), None)
    assert "firewall=Firewall()" in problem.fix


def test_the_example_stack_declares_a_valid_firewall() -> None:
    from pojemnik.declaration.loader import load_stack

    stack, _ = load_stack(Path(__file__).resolve().parents[2])
    assert stack.firewall is not None
    assert firewall_problems(stack, stack.firewall) == []


# --- live rules and drift ----------------------------------------------------------------

def live_from(rulesets_text: str, *, hooks: bool = True, docker_user: bool = True) -> dict[
        str, list[str]]:
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
    if docker_user:
        lines += [":DOCKER-USER - [0:0]", ":DOCKER - [0:0]"]
    lines += [line for line in rulesets_text.splitlines() if line.startswith((":POJ", "-A"))]
    if hooks:
        lines.append("-A INPUT -j POJEMNIK-INPUT")
        lines.append(f"-A {'DOCKER-USER' if docker_user else 'FORWARD'} -j POJEMNIK-DOCKER")
    if docker_user:
        lines += ["-A FORWARD -j DOCKER-USER", "-A DOCKER-USER -j RETURN"]
    return parse_save("\n".join(lines) + "\nCOMMIT\n")


def test_live_rules_that_match_have_no_drift() -> None:
    ruleset = render(openings(stack_with(Firewall()), Firewall(), SERVER), "v4")
    assert drift(ruleset, live_from(ruleset.restore_text())) == []
    assert drift(ruleset, live_from(ruleset.restore_text(), docker_user=False)) == []


def test_drift_lists_missing_extra_unhooked_and_unloaded() -> None:
    ruleset = render(openings(stack_with(Firewall()), Firewall(), SERVER), "v4")
    text = ruleset.restore_text().replace(
        "-A POJEMNIK-INPUT -p tcp -m tcp --dport 443 -j ACCEPT",
        "-A POJEMNIK-INPUT -p tcp -m tcp --dport 5432 -j ACCEPT")
    found = drift(ruleset, live_from(text, hooks=False))
    assert "IPv4: missing: -A POJEMNIK-INPUT -p tcp -m tcp --dport 443 -j ACCEPT" in found
    assert "IPv4: not declared: -A POJEMNIK-INPUT -p tcp -m tcp --dport 5432 -j ACCEPT" in found
    assert "IPv4: INPUT does not jump to POJEMNIK-INPUT" in found
    assert "IPv4: DOCKER-USER does not jump to POJEMNIK-DOCKER" in found
    assert drift(ruleset, parse_save("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"))[0] == (
        "IPv4: chain POJEMNIK-INPUT is not loaded")


def test_our_chain_behind_dockers_return_is_drift() -> None:
    ruleset = render(openings(stack_with(Firewall()), Firewall(), SERVER), "v4")
    live = live_from(ruleset.restore_text())
    live["DOCKER-USER"] = ["-A DOCKER-USER -j RETURN", "-A DOCKER-USER -j POJEMNIK-DOCKER"]
    assert drift(ruleset, live) == ["IPv4: POJEMNIK-DOCKER is not the first rule of DOCKER-USER"]


def test_the_previous_rules_are_the_live_chains_or_empty_ones() -> None:
    ruleset = render(openings(stack_with(Firewall()), Firewall(), SERVER), "v4")
    previous = restore_of_live(live_from(ruleset.restore_text()), "v4")
    assert previous.chains == ruleset.chains
    empty = restore_of_live(parse_save("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"), "v4")
    assert empty.chains == {INPUT_CHAIN: [], DOCKER_CHAIN: []}
    assert empty.restore_text().splitlines() == [
        "*filter", ":POJEMNIK-INPUT - [0:0]", ":POJEMNIK-DOCKER - [0:0]", "COMMIT"]


def test_a_whole_family_as_the_source_is_written_as_anyone() -> None:
    firewall = Firewall(allow={"ssh": ["0.0.0.0/0"]})
    assert "-A POJEMNIK-INPUT -p tcp -m tcp --dport 2222 -j ACCEPT" in rules_of(firewall)
    assert not any("--dport 2222" in r for r in rules_of(firewall, "v6"))
