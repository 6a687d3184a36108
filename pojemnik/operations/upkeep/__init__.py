"""Upkeep of a host that runs a stack for months: `prune` (the releases beyond
`keep_images`, dangling build layers and stopped one-off containers of this project, and
nothing of anyone else's), `logs` (every service's lines merged by time) and the alert
channels (`alerts.test`: email over SMTP, a webhook)."""
