"""What a deploy leaves on the host where it ran: the releases kept for `rollback`
(`releases`) and the audit log of deploys and rollbacks (`history`)."""
