"""The files pojemnik keeps on a server for its firewall, and the scripts that load them
(see `operations.firewall.server`)."""

from __future__ import annotations

import base64

from ...planning.firewall import DOCKER_CHAIN, INPUT_CHAIN

DIR = "/etc/pojemnik/firewall"
PIDFILE = "/run/pojemnik-firewall-restore.pid"
UNIT = "pojemnik-firewall-restore"

LOAD_SCRIPT = f"""#!/bin/sh
# pojemnik firewall loader (written by `fab firewall.apply`; do not edit, it is rewritten).
# Loads {DIR}/rules.v4 and rules.v6 into pojemnik's own chains with
# iptables-restore --noflush (Docker's chains are never flushed), then makes sure
#   INPUT jumps to {INPUT_CHAIN}, and
#   {DOCKER_CHAIN} is the first rule of DOCKER-USER (FORWARD if Docker made no DOCKER-USER).
# `load restore`: first make previous.* the rules again (the dead-man restore, rollback).
# Run after dockerd starts (Docker rebuilds its chains) and at boot.
set -u
DIR={DIR}
if [ "${{1:-}}" = restore ]; then
  for f in v4 v6; do
    if [ -f "$DIR/previous.$f" ]; then cp "$DIR/previous.$f" "$DIR/rules.$f"; fi
  done
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) restored the previous rules (${{2:-restore}})" \\
    >> "$DIR/log"
  rm -f {PIDFILE}
fi
status=0
first_jump() {{  # $1 command, $2 chain, $3 target: `-j target` as the chain's first rule
  if [ "$($1 -w -S "$2" 2>/dev/null | sed -n 2p)" = "-A $2 -j $3" ]; then return 0; fi
  while $1 -w -D "$2" -j "$3" 2>/dev/null; do :; done
  $1 -w -I "$2" 1 -j "$3"
}}
load() {{  # $1 family, $2 command
  [ -f "$DIR/rules.$1" ] || return 0
  if ! command -v "$2" >/dev/null 2>&1; then echo "pojemnik: no $2 for rules.$1" >&2; return 1; fi
  "$2-restore" -w --noflush < "$DIR/rules.$1" || return 1
  $2 -w -C INPUT -j {INPUT_CHAIN} 2>/dev/null || $2 -w -I INPUT 1 -j {INPUT_CHAIN} || return 1
  if $2 -w -n -L DOCKER-USER >/dev/null 2>&1; then
    first_jump "$2" DOCKER-USER {DOCKER_CHAIN} || return 1
  else
    first_jump "$2" FORWARD {DOCKER_CHAIN} || return 1
  fi
}}
load v4 iptables || status=1
if [ -e /proc/net/if_inet6 ]; then load v6 ip6tables || status=1; fi
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) loaded rules (exit $status)" >> "$DIR/log" || true
if [ "$status" != 0 ]; then
  # Loudly, but never keeping Docker down (its drop-in ignores this exit code): a table
  # that failed to load keeps the rules it had (iptables-restore is all or nothing).
  failed="loading $DIR/rules.* FAILED; the previous rules stay (see $DIR/log)"
  echo "pojemnik firewall: $failed" >&2
  logger -p daemon.err -t pojemnik-firewall "$failed" 2>/dev/null || true
fi
exit $status
"""

DOCKER_DROP_IN = f"""# pojemnik: Docker rebuilds its chains on start; put the firewall in front.
# "-": a loader that fails (it logs why) must never mark Docker failed and keep it down.
[Service]
ExecStartPost=-{DIR}/load
"""

BOOT_UNIT = f"""[Unit]
Description=pojemnik firewall (rules in {DIR})
Before=network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={DIR}/load

[Install]
WantedBy=multi-user.target
"""


GATHER = f"""
ss -Hltnp 2>/dev/null | grep '"sshd"' | awk '{{print "sshd-listen", $4}}'
[ -d /run/systemd/system ] && echo systemd
command -v ip6tables >/dev/null 2>&1 && [ -e /proc/net/if_inet6 ] && echo ipv6
if grep -qs 'load restore' /proc/"$(cat {PIDFILE} 2>/dev/null || echo none)"/cmdline \
   || systemctl is-active -q {UNIT}.timer 2>/dev/null; then echo pending; fi
for f in rules.v4 rules.v6 previous.v4 previous.v6; do
  [ -f {DIR}/$f ] && echo "file $f $(base64 -w0 < {DIR}/$f)"
done
echo "=== v4"
iptables-save -t filter 2>/dev/null
echo "=== v6"
ip6tables-save -t filter 2>/dev/null
true
"""


def write_file(path: str, text: str, mode: str = "0644") -> str:
    data = base64.b64encode(text.encode()).decode()
    return (f"echo {data} | base64 -d > {path}.tmp && chmod {mode} {path}.tmp && "
            f"mv {path}.tmp {path}")
