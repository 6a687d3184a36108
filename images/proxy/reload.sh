#!/bin/sh
# Graceful reload that returns only once the new config is live and the old one is gone.
# `nginx -s reload` merely signals the master and returns at once; the master then
# reads the config and starts new workers. Wait (at most 10 s) until the set of the
# master's children changed: from then on, new connections get the new config. Then
# wait (at most 10 s more) until the old workers have finished their requests and
# exited: after that no request goes to an old upstream, so it may stop.
set -eu
master=$(cat /tmp/nginx.pid)
workers() {
    for stat in /proc/[0-9]*/stat; do
        read -r pid _ _ ppid _ < "$stat" 2>/dev/null || continue
        [ "$ppid" = "$master" ] && echo "$pid"
    done | sort
}
before=$(workers)
nginx -s reload
i=0
while [ "$(workers)" = "$before" ]; do
    i=$((i + 1))
    if [ "$i" -gt 100 ]; then
        echo "nginx did not start new workers within 10 s" >&2
        exit 1
    fi
    sleep 0.1
done
i=0
for pid in $before; do
    while [ -e "/proc/$pid" ]; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then
            echo "nginx: old workers still finishing requests after 10 s" >&2
            exit 0
        fi
        sleep 0.1
    done
done
