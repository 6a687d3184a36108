"""The server's renewal as the agent's task: its shape, the one-shot container's `docker
run` (the deploy's spec, hardened the same), and the served-certificate check's reading of
a certificate (against openssl's). No Docker."""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from stackbuilders import EXAMPLE_ROOT, EXAMPLE_SETTINGS

from pojemnik import Stack
from pojemnik.agent import served as served_check
from pojemnik.agent.schedule import on_calendar
from pojemnik.declaration.loader import load_stack
from pojemnik.operations.server.agent import agent_config
from pojemnik.operations.tls.renewal import TASK, agent_tasks, schedule
from pojemnik.operations.tls.status import newest, server_renewal, summary

ACME = {"ACME_EMAIL": "me@example.org", "ACME_NAMES": "updates.example.org"}


def example(monkeypatch: pytest.MonkeyPatch, **settings: str) -> Stack:
    for name, value in {**EXAMPLE_SETTINGS, **settings}.items():
        monkeypatch.setenv(name, value)
    stack, problems = load_stack(EXAMPLE_ROOT)
    assert problems == []
    return stack


def test_no_task_without_ordered_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert agent_tasks(example(monkeypatch)) == {}
    offline = example(monkeypatch, ACME_EMAIL="me@example.org", ACME_NAMES="shop.localhost")
    assert agent_tasks(offline) == {}


def test_the_task_is_daily_locked_backed_off_and_renews_below_renew_days(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stack = example(monkeypatch, **ACME)
    task = agent_tasks(stack)[TASK]
    assert task["lock"] is True and task["backoff"] == {"first": 3600, "max": 86400}
    minute, hour, *rest = task["schedule"].split()
    assert rest == ["*", "*", "*"] and 0 <= int(minute) < 60 and 0 <= int(hour) < 24
    run = next(s["argv"] for s in task["steps"] if s["argv"][:2] == ["docker", "run"])
    assert run[-3:] == [stack.image_tag("acme"), "renew", "30"]
    assert run[run.index("--name") + 1] == stack.container_name("acme-order")
    assert agent_tasks(replace(stack, tls=replace(stack.tls, renew_days=45)))[TASK][
        "steps"][2]["argv"][-1] == "45"


def test_each_project_keeps_its_own_time(monkeypatch: pytest.MonkeyPatch) -> None:
    assert schedule("shop") == schedule("shop")
    assert len({schedule(f"p{i}") for i in range(20)}) > 10


def test_the_one_shot_run_is_hardened_and_gets_no_socket(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stack = example(monkeypatch, **ACME)
    run = agent_tasks(stack)[TASK]["steps"][2]["argv"]
    text = " ".join(run)
    assert "docker.sock" not in text and "--privileged" not in text
    for flag in ("--rm", "--read-only"):
        assert flag in run
    assert run[run.index("--cap-drop") + 1] == "ALL"
    assert run[run.index("--security-opt") + 1] == "no-new-privileges:true"
    assert run[run.index("--network") + 1] == stack.network_name("services")
    assert f"type=volume,source={stack.volume_name('acme')},target=/var/lib/acme" in run


def test_the_steps_install_in_the_proxy_then_check_what_it_serves(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stack = example(monkeypatch, PUBLISH_ADDRESS="0.0.0.0", HTTPS_PORT="8443", **ACME)
    install, check = agent_tasks(stack)[TASK]["steps"][3:]
    assert install["argv"][:3] == ["docker", "exec", stack.container_name("proxy")]
    assert check["argv"][0] == "python3"
    assert check["argv"][3:] == [stack.container_name("proxy"), "127.0.0.1", "8443",
                                 "updates.example.org"]


@pytest.mark.parametrize("serial", ["01", "7F", "80", "00FF", "0A1B2C3D4E5F60718293A4B5C6"])
def test_the_served_check_reads_the_serial_as_openssl_does(tmp_path: Path,
                                                            serial: str) -> None:
    certificate = tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=x",
                    "-set_serial", f"0x{serial}", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(certificate)], check=True, capture_output=True)
    shown = subprocess.run(["openssl", "x509", "-in", str(certificate), "-noout", "-serial"],
                           capture_output=True, text=True, check=True).stdout
    der = ssl.PEM_cert_to_DER_cert(certificate.read_text())
    assert served_check.serial(der) == shown.strip().partition("=")[2]


def test_the_served_check_says_how_to_call_it() -> None:
    assert served_check.main([]) == 2


FAILED_RUN = {"name": TASK, "started": 1796659200.0, "finished": 1796659230.0, "exit": 1,
              "ok": False, "failures": 2, "next_after": 1796666400.0,
              "output": "acme-order: the installed certificate ...\n[shop.example.com] acme: "
                        "error: 400 :: urn:ietf:params:acme:error:connection :: refused\n"
                        "acme-order: failed (1)\n"}


def test_the_servers_record_is_shown_with_lego_s_words_and_the_backoff() -> None:
    shown = server_renewal(FAILED_RUN)
    assert shown == {"at": "2026-12-07 16:00:00 UTC", "result": "failed",
                     "error": shown["error"] if shown else None, "failures": 2,
                     "next_after": "2026-12-07 18:00:00 UTC"}
    assert shown is not None and "acme:error:connection" in shown["error"]
    assert "failed (1)" not in shown["error"]
    iso = server_renewal({**FAILED_RUN, "started": "2026-12-07T16:00:00+00:00", "ok": True})
    assert iso is not None and iso["at"] == "2026-12-07 16:00:00 UTC" and iso["error"] is None
    assert server_renewal(None) is None and server_renewal({}) is None


def test_the_newer_attempt_is_the_last_one() -> None:
    names = ["shop.example.com"]
    deployed = {"names": names, "at": "2026-12-07 17:00:00 UTC", "result": "ok",
                "error": None}
    renewal = server_renewal(FAILED_RUN)
    assert newest(deployed, renewal, names)["by"] == "deploy"
    older = {**deployed, "at": "2026-12-01 00:00:00 UTC"}
    last = newest(older, renewal, names)
    assert last["by"] == "server" and last["result"] == "failed"
    assert newest({}, None, names) == {}


def test_a_failure_says_what_to_do_under_the_table() -> None:
    row = {"acme": True, "renewal": server_renewal(FAILED_RUN), "advice": None}
    lines = summary([row])
    assert "2 failed in a row, next try after 2026-12-07 18:00:00 UTC" in lines[0]
    assert lines[1].startswith("tls: what to do:") and "DNS" in lines[1]
    assert "not installed" in summary([{**row, "renewal": None}])[0]
    assert summary([{**row, "acme": False}]) == []


def test_the_agent_config_carries_the_renewal_as_the_agent_reads_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stack = example(monkeypatch, ACME_CA_CERTIFICATES="", **ACME)
    config = agent_config(stack)  # checked by the agent's own reader (from_dict)
    task = config["tasks"][TASK]
    assert on_calendar(task["schedule"]).endswith(":00")
    run = task["steps"][2]
    assert run["env"]["ACME_NAMES"] == "updates.example.org"
    assert "updates.example.org" not in " ".join(run["argv"])  # values only in the env
    labels = [run["argv"][i + 1] for i, a in enumerate(run["argv"]) if a == "--label"]
    assert f"pojemnik.agent.task={stack.project}/{TASK}" in labels
    assert TASK not in agent_config(example(monkeypatch, ACME_EMAIL=""))["tasks"]
