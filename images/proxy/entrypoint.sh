#!/bin/sh
# Proxy entrypoint: make sure a TLS certificate exists, then exec nginx.
#
# TLS_DIR (/var/lib/proxy-tls, a named volume) must contain tls.crt (full
# chain, PEM) and tls.key (PEM).  If either is missing, a self-signed
# certificate for localhost / *.localhost is generated.  To use a real
# certificate, put tls.crt + tls.key into the volume (or bind-mount a host
# directory holding them at /var/lib/proxy-tls, read-only is fine) and run
# `nginx -s reload`.
set -eu

TLS_DIR=/var/lib/proxy-tls
CRT="$TLS_DIR/tls.crt"
KEY="$TLS_DIR/tls.key"

if [ ! -s "$CRT" ] || [ ! -s "$KEY" ]; then
    if [ ! -w "$TLS_DIR" ]; then
        echo "proxy-entrypoint: $TLS_DIR has no certificate and is not writable;" \
             "mount a named volume (or a directory with tls.crt/tls.key) there" >&2
        exit 1
    fi
    echo "proxy-entrypoint: no certificate in $TLS_DIR, generating a self-signed one" >&2
    umask 077
    openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 825 \
        -keyout "$KEY.new" -out "$CRT.new" \
        -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,DNS:*.localhost" \
        -addext "basicConstraints=critical,CA:FALSE" \
        -addext "keyUsage=critical,digitalSignature,keyEncipherment" \
        -addext "extendedKeyUsage=serverAuth" 2>/dev/null
    chmod 0600 "$KEY.new"
    chmod 0644 "$CRT.new"
    mv -f "$KEY.new" "$KEY"
    mv -f "$CRT.new" "$CRT"
fi

exec "$@"
