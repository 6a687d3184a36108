"""Alerts from the server itself (`pojemnik-agent check`): the checks (`probes`: the sites
through the proxy, the containers, memory; `stored`: the disk, the certificate, backups,
the firewall, read from what those capabilities keep on the host), the incidents they open
and resolve (`incidents`, pure), the message (`message`) and the channels (`send`: email,
webhook). `check` runs it all once, with its state in the agent's state directory.
Standard library only."""
