#!/bin/bash
# HEALTHCHECK: GET http://127.0.0.1:8080/healthz through nginx -> uWSGI -> Django (does
# not touch the database). Plain bash (/dev/tcp): run every 0.2 s while a deploy waits
# for the app, a Python client cost 0.3-0.5 s of CPU each time on a small server.
exec 3<>/dev/tcp/127.0.0.1/8080 || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
if ! read -r -t 4 status <&3; then
    echo "healthcheck failed: no answer within 4 s" >&2
    exit 1
fi
case "$status" in
    "HTTP/1."?" 200 "*) exit 0 ;;
esac
# Say why: the status line and the first line of the answer (Django's own reason).
while IFS= read -r -t 4 header <&3 && [ -n "${header%$'\r'}" ]; do :; done
IFS= read -r -t 4 reason <&3 || true
echo "healthcheck failed: ${status%$'\r'}${reason:+: ${reason%$'\r'}}" >&2
exit 1
