"""The firewall on a server or on every node of a Swarm, over SSH: its state read, rules
applied without locking anyone out (a dead-man switch that restores the previous rules
unless a fresh connection confirms), drift reported, a rollback. `server` (one host's
state) and `swarm` (the fleet) are read by tasks; the underscored modules are helpers."""
