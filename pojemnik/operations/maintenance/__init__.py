"""Maintenance mode: the proxy answers sites with 503 and a plain page while the work is
done (`invoke maintenance.on/off`, and around a release command declared with
`Release(..., maintenance=True)`).

`switch.py` is what the tasks call (on, off, the current state) and the release's gate;
`_sites.py` reads the proxy's nginx config in the checkout (its sites, and which of them
include the page).
"""
