"""Operations: what tasks do, a folder per capability, written against the boundaries
(`engine/`, `ssh/`, `hostfiles/`). `target` is the one object tasks deploy through (a
single host or a Swarm), `checked` the order both targets plan in; `host/` and `swarm/`
are the two targets; `images/`, `data/`, `firewall/`, `records/`, `checkout/` and
`server/` the other capabilities; `lock`, `status` and `diagram` are capabilities of one
module each. In a folder, modules with a leading underscore are helpers of that folder
only."""
