"""The server agent: what the server itself runs on a schedule, as one small program with
nothing but Python's standard library (it runs as a zipapp with the server's `python3`).
`alerts/`: the checks, the incidents they open and resolve, and the messages sent."""
