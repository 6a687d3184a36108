"""A minimal HTTP/1.0 GET over a socket (the engine's unix socket, a site through the
proxy): the agent stays small because it does not load `http.client`, which loads `ssl`
and `email` (about 5 MiB of the 20 MiB the agent may use). One request per connection,
the answer read to its end or to `limit` bytes."""

from __future__ import annotations

import socket
from collections.abc import Callable

Connect = Callable[[], socket.socket]


class WireError(OSError):
    pass


def get(connect: Connect, path: str, host: str, limit: int = 4 << 20,
        user_agent: str = "pojemnik-agent") -> tuple[int, dict[str, str], bytes]:
    """(status, headers in lower case, body). Raises OSError when nothing answers."""
    with connect() as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n"
                     "Accept: */*\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = bytearray()
        while len(data) < limit + 65536:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, separator, body = bytes(data).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if not separator or len(parts) < 2 or not parts[0].startswith("HTTP/") \
            or not parts[1].isdigit():
        raise WireError(f"not an HTTP answer: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = unchunk(body)
    return int(parts[1]), headers, body[:limit]


def unchunk(body: bytes) -> bytes:
    out, at = bytearray(), 0
    while at < len(body):
        end = body.find(b"\r\n", at)
        if end < 0:
            break
        size = int(body[at:end].split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += body[end + 2:end + 2 + size]
        at = end + 2 + size + 2
    return bytes(out)


def unix(path: str, timeout: float) -> Connect:
    def connect() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return sock
    return connect


def tcp(address: str, port: int, timeout: float, tls_name: str = "") -> Connect:
    """`tls_name`: speak TLS (SNI: that name), the certificate not verified (whether the
    site answers is this check's business; the certificate's is the certificate check's)."""
    def connect() -> socket.socket:
        sock = socket.create_connection((address, port), timeout=timeout)
        if not tls_name:
            return sock
        import ssl  # only for an https:// proxy URL: ssl costs memory

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return context.wrap_socket(sock, server_hostname=tls_name)
    return connect
