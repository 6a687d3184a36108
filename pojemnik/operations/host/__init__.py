"""The single-host target: a stack converged on one Docker engine, this machine's or a
server's over SSH. `converge` carries out a plan (networks, images, containers: start-first
through the proxy's upstreams (`switchboard`), else stop-first, by `_update`; config
reloads by `_reload`); `deploy` wraps it with the host's secrets and files; `rollback` and
`teardown` (`down`) are the other entry points."""
