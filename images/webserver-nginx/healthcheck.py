#!/usr/bin/python3
"""HEALTHCHECK: GET http://127.0.0.1:8080/healthz through nginx -> uWSGI ->
Django (does not touch the database)."""
import sys
import urllib.request

try:
    with urllib.request.urlopen("http://127.0.0.1:8080/healthz", timeout=4) as resp:
        sys.exit(0 if resp.status == 200 else 1)
except Exception as exc:
    print(f"healthcheck failed: {exc}", file=sys.stderr)
    sys.exit(1)
