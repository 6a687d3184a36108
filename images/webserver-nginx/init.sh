#!/bin/bash
# The app container's init (under tini, PID 1, which passes it every signal): runs
# uWSGI (the Django app) and nginx, passes signals on at once, and ends the container
# when either program ends.
#
# The article runs the two under supervisord. supervisord looks at signals and at its
# programs once a second, which cost the app about 1.8 s of every start (its imports,
# then a tick before it spawns) and up to 2 s of every stop; these lines do the same
# job without a tick.
#   SIGTERM, SIGINT  graceful stop: uWSGI TERM (workers finish their request), nginx QUIT
#   SIGHUP           uWSGI reloads its workers gracefully (the app's declared reload)
# A program that exits on its own stops the other, and the container exits non-zero:
# Docker's restart policy and pojemnik's health watcher bring it back in plain sight,
# where a supervisor would restart it unseen inside.
set -u
config=/etc/webserver
uwsgi="" nginx="" asked=0

stop() {
    [ -z "$uwsgi" ] || kill -TERM "$uwsgi" 2>/dev/null
    [ -z "$nginx" ] || kill -QUIT "$nginx" 2>/dev/null
}
# Set before anything starts: a stop that came earlier ends this script (exit 143)
# before there is anything to stop.
trap 'asked=1; stop' TERM INT
trap '[ -z "$uwsgi" ] || kill -HUP "$uwsgi" 2>/dev/null' HUP

/usr/bin/uwsgi --ini "$config/application.ini" &
uwsgi=$!
/usr/sbin/nginx -c "$config/nginx.conf" -g 'daemon off;' &
nginx=$!

# `wait -n` returns when a program exits or a trapped signal arrives (its trap runs).
while [ "$asked" = 0 ] && kill -0 "$uwsgi" 2>/dev/null && kill -0 "$nginx" 2>/dev/null; do
    wait -n
done
if [ "$asked" = 0 ]; then
    echo "webserver-init: a program exited on its own; stopping the other" >&2
fi
# Until both have gone, the stop is said again twice a second: one that came while a
# program was still starting can be lost (uWSGI ignores TERM while it loads the app;
# a background program starts with QUIT ignored until nginx sets its handler). Both
# take a repeated graceful stop as the same stop.
while kill -0 "$uwsgi" 2>/dev/null || kill -0 "$nginx" 2>/dev/null; do
    stop
    sleep 0.5 &
    wait -n
done
[ "$asked" = 1 ]
