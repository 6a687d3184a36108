"""Debian's pebble (a real RFC 8555 CA, made for tests) and its mock DNS, started by a test
on the gateway address of the test's own `services` network: only that network's
containers (the one-shot ACME client, the proxy) and this machine reach them."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Pebble:
    address: str  # the network's gateway: where pebble and its DNS listen
    port: int
    management: int
    dns: int
    workdir: Path
    answer: str  # the address every name resolves to (the proxy's)
    dns_management: int = 0  # the mock DNS's management port (0: a free one at start)
    processes: tuple[subprocess.Popen[bytes], ...] = ()

    @property
    def directory(self) -> str:
        return f"https://{self.address}:{self.port}/dir"

    @property
    def listener_cert(self) -> Path:
        return self.workdir / "pebble-listener.pem"

    @property
    def log(self) -> Path:
        return self.workdir / "pebble.log"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.dns_management = self.dns_management or free_port(self.address)
        if not self.listener_cert.exists():
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                 "/CN=pebble", "-addext", f"subjectAltName=IP:{self.address}",
                 "-keyout", str(self.workdir / "pebble-listener.key"),
                 "-out", str(self.listener_cert)], check=True, capture_output=True)
        config = {"pebble": {
            "listenAddress": f"{self.address}:{self.port}",
            "managementListenAddress": f"{self.address}:{self.management}",
            "certificate": str(self.listener_cert),
            "privateKey": str(self.workdir / "pebble-listener.key"),
            "httpPort": 8080, "tlsPort": 8443,  # the proxy's ports inside its container
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        (self.workdir / "pebble.json").write_text(json.dumps(config))
        dns = subprocess.Popen(
            ["pebble-challtestsrv", "-defaultIPv4", self.answer, "-defaultIPv6", "",
             "-dns01", f"{self.address}:{self.dns}", "-http01", "", "-https01", "",
             "-tlsalpn01", "",
             "-management", f"{self.address}:{self.dns_management}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with self.log.open("ab") as log:  # the child keeps its own copy of the descriptor
            ca = subprocess.Popen(
                ["pebble", "-config", str(self.workdir / "pebble.json"),
                 "-dnsserver", f"{self.address}:{self.dns}"],
                stdout=log, stderr=subprocess.STDOUT,
                # Every order validates its challenges (no authorization reused), so
                # a name pointed elsewhere fails the next order.
                env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
                     "PEBBLE_AUTHZREUSE": "0",
                     "PATH": "/usr/bin:/bin"})
        self.processes = (dns, ca)
        self._wait()

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=30)
        self.processes = ()

    def point(self, name: str, address: str | None) -> None:
        """Make the mock DNS answer `name` with `address` (None: the default again)."""
        body = {"host": f"{name}.", **({"addresses": [address]} if address else {})}
        request = urllib.request.Request(
            f"http://{self.address}:{self.dns_management}/{'add-a' if address else 'clear-a'}",
            data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    def orders(self) -> int:
        """New orders pebble was asked for, counted in its own log."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return sum(1 for line in text.splitlines() if "POST /order-plz" in line)

    def root(self) -> str:
        """Pebble's root CA (made anew at each start), from its management interface."""
        context = ssl.create_default_context(cafile=str(self.listener_cert))
        url = f"https://{self.address}:{self.management}/roots/0"
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            return str(answer.read().decode())

    def _wait(self) -> None:
        for _ in range(100):
            try:
                with socket.create_connection((self.address, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"pebble did not listen on {self.address}:{self.port}; see {self.log}")


def free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])
