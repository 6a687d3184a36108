"""The host-files boundary: the small files pojemnik owns on the engine's host (upstream
files, release records, the audit log), the stack's secrets there, and where a stack lives
on a remote host. Written on this machine or over the task's Fabric connection; above it,
code sees `files.HostFiles` and `secrets.SecretStore`."""
