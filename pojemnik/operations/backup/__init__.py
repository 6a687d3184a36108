"""Backups: `backup.run`, `backup.list`, `backup.restore` and `backup.drill`.

Every one runs Debian's restic in a one-shot helper container (`_helper`) made from the
base image, with the repository, the repository password (a secret of the stack, as a
read-only file) and the backed-up volumes and binds mounted; dumps stream from the
service's container into it (`_pipe`). What the parts and commands are lives in
`planning.backup`; the declaration in `declaration.backup`.
"""
