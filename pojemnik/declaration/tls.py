"""Real certificates, as declared in `stack.py`: which names the proxy gets one for, from
which ACME CA (RFC 8555), and where it is kept.

Plain data. Names under `.localhost`/`.test`, or any name while `email` is empty, keep the
proxy's self-signed certificate: no CA is ever contacted, so a stack without the ACME
settings deploys offline exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
OFFLINE_SUFFIXES = (".localhost", ".test")  # never publicly resolvable: self-signed


@dataclass(frozen=True)
class Acme:
    """One certificate (all `names` as subject alternative names) for the `proxy` service,
    ordered over HTTP-01: the proxy answers `/.well-known/acme-challenge/` on port 80 from
    the `webroot` volume, which the one-shot `image` container (lego) writes.

    The account key and lego's files live in the `state` volume (mounted only in that
    one-shot container); the certificate and its key (0600) are installed as
    `tls.crt`/`tls.key` in the proxy's `certificates` volume.
    """

    names: Sequence[str] = ()
    email: str = ""  # ACME_EMAIL: the CA's expiry and problem notices go here
    directory: str = LETS_ENCRYPT  # ACME_DIRECTORY: any RFC 8555 directory URL
    # ACME_CA_CERTIFICATES: a PEM file trusted for the directory's own HTTPS (a private
    # CA, or pebble in the tests); "": the system's trust store.
    ca_certificates: str = ""
    proxy: str = "proxy"
    image: str = "acme"
    network: str = "services"  # the one-shot container reaches the CA from here
    certificates: str = "proxy-tls"
    webroot: str = "acme-webroot"
    state: str = "acme"
    renew_days: int = 30  # renew once fewer days than this are left

    def ordered(self) -> list[str]:
        """The names a CA is asked for: none without an email, none that are offline."""
        if not self.email:
            return []
        return [n for n in self.names if not offline(n)]


def offline(name: str) -> bool:
    lower = name.lower().rstrip(".")
    return any(lower.endswith(s) or lower == s[1:] for s in OFFLINE_SUFFIXES)
