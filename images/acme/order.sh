#!/bin/sh
# One order: lego asks the CA (ACME_DIRECTORY) for one certificate for ACME_NAMES
# (comma-separated) over HTTP-01, writing the tokens into the webroot the proxy serves.
# On success the chain and key are installed as tls.crt/tls.key (key 0600, each renamed
# into place, so nginx never reads half a file); on failure nothing there changes.
# The last line says how it went: "acme-order: ok" or "acme-order: failed (<code>)".
# pojemnik decides whether to order (it never runs this while a valid certificate for
# the same names is installed); this script orders every time it runs.
set -u
STATE=/var/lib/acme
TLS=/var/lib/proxy-tls
WEBROOT=/var/lib/acme-webroot
umask 077

if [ -n "${ACME_CA_PEM:-}" ]; then
    # The CA's own HTTPS certificate (a private CA, pebble in tests): trusted by lego.
    printf '%s\n' "$ACME_CA_PEM" > /tmp/acme-ca.pem
    export LEGO_CA_CERTIFICATES=/tmp/acme-ca.pem
fi

set --
first=""
for name in $(echo "$ACME_NAMES" | tr ',' ' '); do
    [ -n "$first" ] || first=$name
    set -- "$@" --domains "$name"
done
if [ -z "$first" ]; then
    echo "acme-order: no names given (ACME_NAMES)" >&2
    echo "acme-order: failed (2)"
    exit 2
fi

mkdir -p "$WEBROOT/.well-known/acme-challenge"
chmod 0755 "$WEBROOT" "$WEBROOT/.well-known" "$WEBROOT/.well-known/acme-challenge"
lego --accept-tos --email "$ACME_EMAIL" --server "$ACME_DIRECTORY" --path "$STATE" \
    --key-type ec256 --http --http.webroot "$WEBROOT" "$@" run 2>&1
code=$?
if [ "$code" -ne 0 ]; then
    echo "acme-order: failed ($code)"
    exit "$code"
fi

crt="$STATE/certificates/$first.crt"
key="$STATE/certificates/$first.key"
# The pair served until now is kept as tls.*.prev: pojemnik puts it back if nginx
# refuses the new one.
for f in tls.key tls.crt; do
    [ ! -s "$TLS/$f" ] || cp -p "$TLS/$f" "$TLS/$f.prev" || exit 1
done
cp "$key" "$TLS/tls.key.new" && chmod 0600 "$TLS/tls.key.new" \
    && cp "$crt" "$TLS/tls.crt.new" && chmod 0644 "$TLS/tls.crt.new" \
    && mv -f "$TLS/tls.key.new" "$TLS/tls.key" && mv -f "$TLS/tls.crt.new" "$TLS/tls.crt"
code=$?
if [ "$code" -ne 0 ]; then
    echo "acme-order: could not install the certificate into $TLS" >&2
    echo "acme-order: failed ($code)"
    exit "$code"
fi
echo "acme-order: ok"
