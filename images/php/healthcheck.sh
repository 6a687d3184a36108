#!/bin/sh
# php-fpm HEALTHCHECK: send a real FastCGI request to the pool's ping.path
# and expect "pong".
out=$(SCRIPT_NAME=/ping SCRIPT_FILENAME=/ping REQUEST_METHOD=GET QUERY_STRING= \
      timeout 4 cgi-fcgi -bind -connect 127.0.0.1:9000 2>&1) || exit 1
case "$out" in
    *pong*) exit 0 ;;
    *) echo "unexpected php-fpm ping answer: $out" >&2; exit 1 ;;
esac
