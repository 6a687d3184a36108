"""The SSH boundary: connections with a host-key policy, commands and channels on a host,
a local socket relayed to a command on the host, the file mirror, port probes."""
