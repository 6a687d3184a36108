"""Running the apps, not only the containers: one-off commands (`invoke run`, a new
container of a service) and commands in the live container (`invoke exec`).

`commands.py` is what the tasks call; `_terminal.py` puts the caller's terminal in raw
mode while a command inside has its own.
"""
