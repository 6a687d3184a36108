#!/bin/sh
# php entrypoint: write the pool's client allow-list, then exec php-fpm.
#
# php-fpm answers FastCGI only from 127.0.0.1 (its healthcheck) and FPM_ALLOWED_CLIENTS
# (listen.allowed_clients, which takes addresses only).  On one host the stack passes the
# proxy's fixed address.  On a Docker Swarm a task has no fixed address, so pojemnik passes
# the proxy's service name instead: a name is looked up in Docker's DNS now and every 2 s,
# and when its addresses change the pool file is rewritten and php-fpm reloads gracefully
# (SIGUSR2; the listening socket is kept).  Until the name resolves (the proxy starts after
# php), only 127.0.0.1 is allowed.
set -eu

POOL_TEMPLATE=/etc/php/8.2/fpm/pool-app.conf.in
POOL_DIR=/tmp/php-fpm
POOL="$POOL_DIR/pool-app.conf"  # /etc/php/8.2/fpm/pool.d/app.conf links here
INTERVAL=2

allowed() {
    list=127.0.0.1
    for entry in $(printf '%s' "${FPM_ALLOWED_CLIENTS:-}" | tr ',' ' '); do
        case "$entry" in
            *:*) found="$entry" ;;  # IPv6
            *[!0-9.]*) found=$(getent ahostsv4 "$entry" 2>/dev/null | awk '{print $1}' | sort -u) ;;
            *) found="$entry" ;;
        esac
        for address in $found; do list="$list,$address"; done
    done
    printf '%s\n' "$list"
}

write_pool() {
    mkdir -p "$POOL_DIR"
    sed "s|@ALLOWED_CLIENTS@|$1|" "$POOL_TEMPLATE" > "$POOL.new"
    mv -f "$POOL.new" "$POOL"
}

current=$(allowed)
write_pool "$current"
case ",${FPM_ALLOWED_CLIENTS:-}," in
    *,*[!0-9.:,]*) names=yes ;;
    *) names=no ;;
esac
if [ "$names" = yes ]; then
    (
        while sleep "$INTERVAL"; do
            next=$(allowed)
            if [ "$next" != "$current" ]; then
                write_pool "$next"
                echo "php-entrypoint: FastCGI now allowed from $next; reloading php-fpm" >&2
                kill -USR2 1 2>/dev/null || true
                current=$next
            fi
        done
    ) &
fi
exec "$@"
