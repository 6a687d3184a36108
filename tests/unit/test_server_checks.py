"""The server's checks, their pure parts (issue 21 item 1): the agent's config from the
declaration (no secret in it), the thresholds validated, each container finding, the
certificate's expiry read from a real certificate's DER (made by openssl), the engine's
tar archive, the backups' audit log as `backup.run` and `backup.drill` write it, the
mail as it is sent, a secret file readable by others refused."""

from __future__ import annotations

import base64
import email
import io
import json
import os
import subprocess
import tarfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from stackbuilders import one

from pojemnik import Acme, Alerts, Backup, Stack
from pojemnik.agent.alerts import probes, stored
from pojemnik.agent.alerts.docker_api import first_file, quote
from pojemnik.agent.alerts.message import AlertMessage
from pojemnik.agent.alerts.send import _secret, mail_bytes
from pojemnik.agent.alerts.wire import unchunk
from pojemnik.declaration.validate.stack import check_declaration
from pojemnik.hostfiles.files import LocalFiles
from pojemnik.operations.records.history import record_lines
from pojemnik.operations.server import _payload
from pojemnik.operations.server.agent import agent_config
from pojemnik.operations.upkeep import watch
from pojemnik.planning.alert_checks import Where, schedule_seconds, secret_files

ALERTS = Alerts(email_to=["admin@example.org"], smtp_host="smtp.example.org",
                smtp_user="me@example.org", smtp_password="s3cret-value",
                webhook="https://hooks.example.org/T0/token-xyz", sites=["app.example.org"])


def test_the_config_names_what_to_check_and_keeps_the_secrets_in_their_files(
        stack: Stack) -> None:
    declared = replace(stack, alerts=ALERTS, tls=Acme(names=["app.example.org"]),
                       backup=Backup(schedule="every 6h"))
    found = agent_config(declared)
    text = json.dumps(found)
    assert "s3cret-value" not in text and "token-xyz" not in text
    checks = found["checks"]
    assert checks["sites"] == {"address": "127.0.0.1", "port": 8080, "https": False,
                               "names": ["app.example.org"]}
    assert checks["containers"]["proxy"] == "demo-proxy"
    assert checks["memory"]["limits"]["proxy"] == 64 * 2**20
    assert checks["certificate"]["container"] == "demo-proxy"
    assert checks["backup"]["max_age"] == 12 * 3600  # twice the schedule
    assert checks["disk"] == {"percent": 85.0, "paths": ["/"]}
    secrets = secret_files(declared, Where(watch.config_dir("demo")))
    assert secrets == {"/etc/pojemnik/demo/alerts-smtp-password": "s3cret-value",
                       "/etc/pojemnik/demo/alerts-webhook-url": ALERTS.webhook}
    assert set(found["channels"]) == {"email", "webhook"}
    task = found["tasks"]["alerts"]
    assert task["schedule"] == "every 5m" and task["lock"] is False
    assert task["steps"][0]["argv"][:2] == [_payload.PYTHON, _payload.PYZ]
    assert task["steps"][0]["argv"][-1] == "check"
    assert "--state" in task["steps"][0]["argv"] and watch.state_dir("demo") == \
        _payload.state_dir("demo")


def test_no_alerts_declared_adds_nothing(stack: Stack) -> None:
    found = agent_config(replace(stack, alerts=None))
    assert "checks" not in found and "alerts" not in found["tasks"]


@pytest.mark.parametrize(("schedule", "seconds"), [
    ("daily", 86400), ("every 15m", 900), ("hourly", 3600), ("0 3 * * 1", 7 * 86400),
    ("0 3,15 * * *", 12 * 3600), ("*-*-* 03:00:00", 86400)])  # the last: OnCalendar
def test_how_often_a_schedule_runs_at_most(schedule: str, seconds: int) -> None:
    assert schedule_seconds(schedule) == seconds


def test_each_wrong_threshold_is_named(stack: Stack) -> None:
    cases = {"alerts.disk_percent": replace(ALERTS, disk_percent=120),
             "alerts.memory_percent": replace(ALERTS, memory_percent=0),
             "alerts.certificate_days": replace(ALERTS, certificate_days=0),
             "alerts.every": replace(ALERTS, every="sometimes"),
             "alerts.sites": replace(ALERTS, sites="app.example.org"),
             "alerts.proxy": replace(ALERTS, proxy="nginx")}
    for where, alerts in cases.items():
        problem = one(check_declaration(replace(stack, alerts=alerts)))
        assert where in problem.where and problem.fix, problem
    assert check_declaration(replace(stack, alerts=ALERTS)) == []


def inspected(status: str = "running", health: str | None = None, restarts: int = 0,
              oom: bool = False) -> dict[str, object]:
    state: dict[str, object] = {"Status": status, "Running": status == "running",
                                "OOMKilled": oom, "ExitCode": 137 if oom else 0}
    if health:
        state["Health"] = {"Status": health, "Log": [{"Output": "connection refused\n"}]}
    return {"State": state, "RestartCount": restarts}


def test_each_container_finding_says_what_and_what_to_do() -> None:
    assert probes.container(inspected(health="healthy"), "demo-app", 0).passed
    unhealthy = probes.container(inspected(health="unhealthy"), "demo-app", 0)
    assert "is unhealthy" in unhealthy.detail and "connection refused" in unhealthy.detail
    looping = probes.container(inspected(restarts=7), "demo-app", 5)
    assert "restarting in a loop (7 restarts)" in looping.detail
    assert probes.container(inspected(restarts=7), "demo-app", None).passed  # first run
    killed = probes.container(inspected(oom=True, restarts=3), "demo-app", 3)
    assert "OOM" in killed.detail and "limits.memory" in killed.detail
    assert "is exited (exit 0)" in probes.container(inspected("exited"), "demo-app", 0).detail
    assert "does not exist" in probes.container(None, "demo-app", None).detail


def certificate(tmp_path: Path, days: int) -> bytes:
    key, cert = tmp_path / "k.pem", tmp_path / f"{days}.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", str(days), "-subj",
                    "/CN=app.example.org", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert.read_bytes()


@pytest.mark.parametrize("days", [5, 40000])  # UTCTime, and GeneralizedTime after 2049
def test_a_certificates_expiry_is_read_from_its_der(tmp_path: Path, days: int) -> None:
    pem = certificate(tmp_path, days)
    shown = subprocess.run(["openssl", "x509", "-noout", "-enddate"], input=pem,
                           capture_output=True, check=True).stdout.decode()
    wanted = datetime.strptime(" ".join(shown.split("=", 1)[1].split()),
                               "%b %d %H:%M:%S %Y GMT").replace(tzinfo=UTC)
    assert stored.not_after(stored.pem_body(pem)) == wanted
    with pytest.raises(ValueError):
        stored.pem_body(b"not a certificate")


def test_the_file_out_of_an_engine_archive() -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w", format=tarfile.PAX_FORMAT) as archive:
        entry = tarfile.TarInfo("tls.crt")
        entry.size, entry.pax_headers = 5, {"comment": "x" * 600}  # a PAX header first
        archive.addfile(entry, io.BytesIO(b"hello"))
    assert first_file(data.getvalue()) == b"hello"
    assert first_file(b"\0" * 1024) is None
    assert quote("/var/lib/proxy-tls/tls.crt") == "%2Fvar%2Flib%2Fproxy-tls%2Ftls.crt"
    assert unchunk(b"5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n") == b"hello!"


def test_the_backup_checks_read_what_backup_run_and_drill_record(
        stack: Stack, tmp_path: Path) -> None:
    declared = replace(stack, backup=Backup(), alerts=ALERTS)
    history = agent_config(declared)["checks"]["backup"]["history"]
    now = datetime.now(UTC)
    assert not stored.backup({"history": history, "max_age": 86400}, now)["backup"].passed
    files = LocalFiles()
    record_lines(declared, files, "backup run-1", ["db"], "ok", kind="backup")
    found = stored.backup({"history": history, "max_age": 2 * 86400}, now)
    assert found["backup"].passed and "drill" not in found
    stale = stored.backup({"history": history, "max_age": 2 * 86400},
                          now + timedelta(days=3))["backup"]
    assert "the last good backup is 72 h old" in stale.detail
    record_lines(declared, files, "drill run-1", [], "failed: 1 problems", kind="drill")
    drill = stored.backup({"history": history, "max_age": 2 * 86400}, now)["drill"]
    assert "failed: 1 problems" in drill.detail and "backup.drill" in drill.detail


def test_the_disk_and_the_firewall_without_rules(tmp_path: Path) -> None:
    low = stored.disk({"percent": 100, "paths": ["/", str(tmp_path)]}, None)
    assert all(r.passed for r in low.values()) and len(low) >= 1
    high = stored.disk({"percent": 0.0001, "paths": ["/"]}, "/")
    assert list(high) == ["disk /"] and "prune --dry-run" in high["disk /"].detail
    assert stored.firewall({"dir": str(tmp_path)}) == {}  # never applied: not checked


def test_the_mail_as_sent_carries_any_text() -> None:
    message = AlertMessage("demo", "open", "site zażółć.example.org", "answers 502", "now")
    raw = mail_bytes("me@example.org", ["admin@example.org"], message)
    mail = email.message_from_bytes(raw)
    assert str(email.header.make_header(email.header.decode_header(mail["Subject"]))) == \
        "[demo] PROBLEM: site zażółć.example.org"
    assert base64.b64decode(mail.get_payload()).decode() == message.text()
    assert raw.isascii()


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_text("pw\n")
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        _secret(str(path))
    os.chmod(path, 0o600)
    assert _secret(str(path)) == "pw"


def test_status_reads_the_open_incidents_from_the_agents_state(
        stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = replace(stack, alerts=ALERTS)
    from pojemnik.agent.alerts.check import save_state
    from pojemnik.agent.alerts.incidents import Result, run

    states, _ = run({}, {"container app": Result(False, "demo-app is unhealthy"),
                         "disk /": Result(True)}, "2026-12-07T10:00:00+00:00", open_after=1)
    folder = tmp_path / "state"
    save_state(str(folder), {"checks": {n: s.as_json() for n, s in states.items()}})
    assert oct(os.stat(folder / "alerts.json").st_mode & 0o777) == "0o644"  # no secret
    monkeypatch.setattr(watch, "state_dir", lambda project: str(folder))
    found = watch.open_incidents(stack, LocalFiles()) or []
    assert [i["check"] for i in found] == ["container app"]
    assert watch.incident_lines(found) == [
        "alerts: 1 open incident(s)",
        "  container app: since 2026-12-07T10:00:00+00:00: demo-app is unhealthy"]
    monkeypatch.setattr(watch, "state_dir", lambda project: str(tmp_path / "none"))
    assert watch.incident_lines(watch.open_incidents(stack, LocalFiles()) or []) == [
        "alerts: no open incidents"]
    assert watch.open_incidents(replace(stack, alerts=None), LocalFiles()) is None
