"""Does the proxy serve the certificate installed in its volume, for every name?

The last step of the server's renewal (`operations/tls/renewal.py`), run by the agent
with the server's `python3` (stdlib only: this file's text is the step's `-c`, so it runs
the same from the zipapp and from a checkout):

    python3 -c "$(cat served.py)" PROXY_CONTAINER ADDRESS PORT NAME...

It reads the installed certificate (public) from the proxy, then makes one TLS handshake
per name (SNI) on the proxy's published HTTPS port and compares the certificate served
with it (its SHA-256). Exit 0 when every name gets the installed one; 1, naming the
names and what to do, when one does not (a renewal installed but not served is the
failure this catches); 2 when the proxy cannot be asked.
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import subprocess
import sys

CERTIFICATE = "/var/lib/proxy-tls/tls.crt"
PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def installed(container: str) -> bytes:
    """The leaf (first) certificate of the installed chain, DER."""
    found = subprocess.run(["docker", "exec", container, "cat", CERTIFICATE],
                           capture_output=True, text=True, timeout=60)
    match = PEM.search(found.stdout) if found.returncode == 0 else None
    if match is None:
        raise OSError(f"no certificate in {container}:{CERTIFICATE}: "
                      f"{found.stderr.strip() or 'empty'}")
    return ssl.PEM_cert_to_DER_cert(match.group(0))


def served(address: str, port: int, name: str) -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # what is served is compared, not trusted
    with socket.create_connection((address, port), timeout=15) as raw, \
            context.wrap_socket(raw, server_hostname=name) as tls:
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise OSError(f"{name}: the proxy presented no certificate")
    return der


def serial(der: bytes) -> str:
    """The serial number as `openssl x509 -serial` prints it (hex, upper case)."""
    _, body = _element(der, 0)  # Certificate ::= SEQUENCE
    _, tbs = _element(body, 0)  # TBSCertificate ::= SEQUENCE
    offset = 0
    if tbs[0] == 0xA0:  # [0] EXPLICIT version
        offset = _end(tbs, 0)
    _, number = _element(tbs, offset)
    return number.lstrip(b"\0").hex().upper() or "00"


def _element(data: bytes, offset: int) -> tuple[int, bytes]:
    start, length = _header(data, offset)
    return data[offset], data[start:start + length]


def _end(data: bytes, offset: int) -> int:
    start, length = _header(data, offset)
    return start + length


def _header(data: bytes, offset: int) -> tuple[int, int]:
    first = data[offset + 1]
    if first < 0x80:
        return offset + 2, first
    size = first & 0x7F
    return offset + 2 + size, int.from_bytes(data[offset + 2:offset + 2 + size], "big")


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print("usage: served PROXY_CONTAINER ADDRESS PORT NAME...", file=sys.stderr)
        return 2
    container, address, port, names = argv[0], argv[1], int(argv[2]), argv[3:]
    try:
        want = installed(container)
        wrong = []
        for name in names:
            got = served(address, port, name)
            if hashlib.sha256(got).digest() != hashlib.sha256(want).digest():
                wrong.append(f"{name} (serial {serial(got)})")
    except (OSError, ssl.SSLError, subprocess.SubprocessError) as error:
        print(f"tls: could not check the served certificate on {address}:{port}: {error}",
              file=sys.stderr)
        return 2
    if wrong:
        print(f"tls: the proxy does not serve the installed certificate {serial(want)} for "
              f"{', '.join(wrong)}: reload it (invoke tls.renew, or redeploy the proxy)",
              file=sys.stderr)
        return 1
    print(f"tls: served for {', '.join(names)}: certificate {serial(want)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
