"""The checks that read what the host and the other capabilities keep: the disk (the
Docker data root and `/`, by `os.statvfs`), the certificate in the proxy's volume (what
the TLS capability installs: `tls.crt`, read through the engine, its expiry read from
the DER), the backups' audit log (what `backup.run` and `backup.drill` record), and the
firewall (the installed rules against the loaded ones). Each gives `{name: Result}`."""

from __future__ import annotations

import binascii
import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .docker_api import DockerAPI
from .incidents import Result
from .rules import drift, parse_save


def disk(config: Mapping[str, Any], docker_root: str | None) -> dict[str, Result]:
    """Each filesystem once: `/` and the Docker data root are often the same one."""
    percent = float(config.get("percent", 85))
    paths = [*config.get("paths", ["/"]), *([docker_root] if docker_root else [])]
    seen: dict[int, list[str]] = {}
    for path in paths:
        try:
            device = os.stat(path).st_dev
        except OSError:
            continue
        if path not in seen.setdefault(device, []):
            seen[device].append(path)
    found = {}
    for names in seen.values():
        used = used_percent(os.statvfs(names[0]))
        label = " and ".join(names)
        found[f"disk {names[0]}"] = Result(True) if used < percent else Result(
            False, f"the disk holding {label} is {used:.1f}% full (alert at {percent:g}%). "
                   "`invoke prune --dry-run` shows what pojemnik can remove (old release "
                   "images, build layers); look at `docker system df` and the logs' size.")
    return found


def used_percent(stat: os.statvfs_result) -> float:
    """As `df` says it: used against what users may use (the root's reserve left out)."""
    used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    usable = used + stat.f_bavail * stat.f_frsize
    return 100.0 * used / usable if usable else 0.0


def certificate(api: DockerAPI, config: Mapping[str, Any], now: datetime) -> dict[str, Result]:
    days = int(config.get("days", 14))
    where = f"{config['container']}:{config['path']}"
    data = api.read_file(config["container"], config["path"])
    if data is None:
        return {"certificate": Result(False, f"no certificate at {where}: `invoke deploy` "
                                             "installs one (see `invoke tls.status`)")}
    try:
        expires = not_after(pem_body(data))
    except ValueError as error:
        return {"certificate": Result(False, f"the certificate at {where} cannot be read "
                                             f"({error})")}
    left = (expires - now).total_seconds() / 86400
    if left >= days:
        return {"certificate": Result(True)}
    state = "expired" if left < 0 else f"expires in {left:.1f} days"
    return {"certificate": Result(False, f"the proxy's certificate {state} "
                                         f"({expires:%Y-%m-%d %H:%M} UTC): renewal has "
                                         "not worked. `invoke tls.status` says the last "
                                         "attempt's error; `invoke tls.renew` tries now.")}


def pem_body(data: bytes) -> bytes:
    match = re.search(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", data,
                      re.S)
    if not match:
        raise ValueError("no PEM certificate in it")
    return binascii.a2b_base64(b"".join(match.group(1).split()))


def not_after(der: bytes) -> datetime:
    """The end of an X.509 certificate's validity (RFC 5280), read from its DER."""
    try:
        _, body, _ = _tlv(der, 0)  # Certificate
        _, at, _ = _tlv(der, body)  # tbsCertificate
        tag, _, end = _tlv(der, at)
        if tag == 0xA0:  # [0] version
            _, _, end = _tlv(der, end)  # serialNumber
        for _ in range(2):  # signature, issuer
            _, _, end = _tlv(der, end)
        _, validity, _ = _tlv(der, end)
        _, _, after = _tlv(der, validity)  # notBefore
        tag, start, stop = _tlv(der, after)
        text = der[start:stop].decode("ascii")
    except (IndexError, UnicodeDecodeError) as error:
        raise ValueError(f"not a certificate: {error}") from error
    if tag == 0x17:  # UTCTime: YYMMDDHHMMSSZ
        text = ("19" if int(text[:2]) >= 50 else "20") + text
    elif tag != 0x18:  # GeneralizedTime: YYYYMMDDHHMMSSZ
        raise ValueError("no validity time where one belongs")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)


def _tlv(der: bytes, at: int) -> tuple[int, int, int]:
    """(tag, where the content starts, where it ends)."""
    tag, length, at = der[at], der[at + 1], at + 2
    if length & 0x80:
        count = length & 0x7F
        length, at = int.from_bytes(der[at:at + count], "big"), at + count
    if at + length > len(der):
        raise IndexError("truncated")
    return tag, at, at + length


def backup(config: Mapping[str, Any], now: datetime) -> dict[str, Result]:
    """The last good backup against twice its schedule; the last drill's result."""
    entries = _history(config["history"])
    good = [e for e in entries if e.get("kind") == "backup" and e.get("result") == "ok"]
    max_age = float(config["max_age"])
    found: dict[str, Result] = {}
    if not good:
        found["backup"] = Result(False, "no backup has succeeded yet: `invoke backup.run`, "
                                        "and check the schedule (`invoke status`)")
    else:
        age = now - datetime.fromisoformat(good[-1]["when"])
        hours = age.total_seconds() / 3600
        found["backup"] = Result(True) if age.total_seconds() <= max_age else Result(
            False, f"the last good backup is {hours:.0f} h old (more than twice its "
                   f"schedule, {max_age / 3600:.0f} h): the scheduled runs fail or do not "
                   "run. `invoke backup.list`, `invoke status`; run `invoke backup.run`.")
    drills = [e for e in entries if e.get("kind") == "drill"]
    if drills:
        last = drills[-1]
        found["drill"] = Result(True) if last.get("result") == "passed" else Result(
            False, f"the last restore drill {last.get('result')} ({last.get('when')}): a "
                   "backup may not restore. `invoke backup.drill` says which part and why.")
    return found


def _history(path: str) -> list[dict[str, Any]]:
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            found.append(entry)
    return found


def firewall(config: Mapping[str, Any]) -> dict[str, Result]:
    """Skipped (no result) when no rules were installed or the loaded ones cannot be read
    (iptables-save needs root)."""
    import subprocess

    folder, found = str(config.get("dir", "/etc/pojemnik/firewall")), []
    checked = False
    for family, command in (("v4", "iptables-save"), ("v6", "ip6tables-save")):
        rules = f"{folder}/rules.{family}"
        if not os.path.isfile(rules):
            continue
        with open(rules) as handle:
            declared = handle.read()
        try:
            live = subprocess.run([command, "-t", "filter"], capture_output=True, text=True,
                                  timeout=30, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        checked = True
        found += drift(parse_save(declared), parse_save(live), family)
    if not checked:
        return {}
    if not found:
        return {"firewall": Result(True)}
    return {"firewall": Result(False, "the loaded firewall rules differ from those "
                                      f"installed in {folder}: " + "; ".join(found[:8]) +
                                      ". `fab -H root@server firewall.status` shows the "
                                      "drift; `firewall.apply` loads the declared rules.")}
