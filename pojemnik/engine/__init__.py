"""The Docker boundary: the only code that imports the Docker SDK or runs `docker`
commands on a host. Above it, code sees `backend.Engine` and `errors.DockerError`."""
