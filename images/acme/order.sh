#!/bin/sh
# One order: lego asks the CA (ACME_DIRECTORY) for one certificate for ACME_NAMES
# (comma-separated) over HTTP-01, writing the tokens into the webroot the proxy serves.
# On success the chain and key are installed as tls.crt/tls.key (key 0600, each renamed
# into place, so nginx never reads half a file); on failure nothing there changes.
# The last line says how it went: "acme-order: ok" or "acme-order: failed (<code>)".
# pojemnik decides whether to order (it never runs this while a valid certificate for
# the same names is installed); this script orders every time it runs.
#
# `acme-order renew DAYS` is the server's daily renewal (run by pojemnik's agent): it
# contacts no CA while the installed certificate is for exactly ACME_NAMES, not
# self-signed, and valid for more than DAYS days (last line "acme-order: unchanged");
# else lego renews the one it made (`renew --days DAYS`) or orders anew (names changed,
# first order), installs it and leaves the file "renewed" for the agent's next step
# (nginx -t, graceful reload), which removes it.
set -u
STATE=/var/lib/acme
TLS=/var/lib/proxy-tls
WEBROOT=/var/lib/acme-webroot
umask 077
mode=${1:-run}
days=${2:-30}

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

crt="$STATE/certificates/$first.crt"
key="$STATE/certificates/$first.key"
action=run
if [ "$mode" = renew ]; then
    case "$days" in ''|*[!0-9]*) echo "acme-order: renew DAYS: not a number: $days" >&2
                                  echo "acme-order: failed (2)"; exit 2 ;; esac
    wanted=$(echo "$ACME_NAMES" | tr ',A-Z' ' a-z' | tr ' ' '\n' | sed '/^$/d' | sort -u)
    have=$(openssl x509 -in "$TLS/tls.crt" -noout -ext subjectAltName 2>/dev/null \
           | tr ',' '\n' | sed -n 's/^ *DNS://p' | tr 'A-Z' 'a-z' | sort -u)
    issuer=$(openssl x509 -in "$TLS/tls.crt" -noout -issuer 2>/dev/null | sed 's/^issuer=//')
    subject=$(openssl x509 -in "$TLS/tls.crt" -noout -subject 2>/dev/null | sed 's/^subject=//')
    if [ -n "$have" ] && [ "$have" = "$wanted" ] && [ "$issuer" != "$subject" ]; then
        if openssl x509 -in "$TLS/tls.crt" -noout -checkend $((days * 86400)) >/dev/null; then
            echo "acme-order: the installed certificate is valid until" \
                 "$(openssl x509 -in "$TLS/tls.crt" -noout -enddate | sed 's/^notAfter=//')," \
                 "more than $days days: nothing to renew"
            echo "acme-order: unchanged"
            exit 0
        fi
        # lego's own copy is the one installed, and its account is on this CA (lego's
        # folder: the directory's host, ":" as "_"): lego renews it (its --days check
        # agrees). Else (another CA since: staging, then production) a new order.
        server=$(echo "$ACME_DIRECTORY" | sed -e 's|^[a-z]*://||' -e 's|/.*||' -e 's|:|_|')
        if cmp -s "$crt" "$TLS/tls.crt" \
                && [ -s "$STATE/accounts/$server/$ACME_EMAIL/account.json" ]; then
            action="renew --days $days --no-random-sleep"
        fi
    fi
fi

mkdir -p "$WEBROOT/.well-known/acme-challenge"
chmod 0755 "$WEBROOT" "$WEBROOT/.well-known" "$WEBROOT/.well-known/acme-challenge"
# shellcheck disable=SC2086 # $action is one or more words, on purpose
lego --accept-tos --email "$ACME_EMAIL" --server "$ACME_DIRECTORY" --path "$STATE" \
    --key-type ec256 --http --http.webroot "$WEBROOT" "$@" $action 2>&1
code=$?
if [ "$code" -ne 0 ]; then
    echo "acme-order: failed ($code)"
    exit "$code"
fi

if [ "$mode" = renew ] && cmp -s "$crt" "$TLS/tls.crt"; then
    echo "acme-order: lego renewed nothing (its certificate is the installed one)"
    echo "acme-order: unchanged"
    exit 0
fi
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
if [ "$mode" = renew ]; then
    openssl x509 -in "$TLS/tls.crt" -noout -serial > "$TLS/renewed" || exit 1
fi
echo "acme-order: ok"
