"""The same tasks on remote hosts over SSH: `fab -H user@server deploy`.

Host keys are checked against ~/.ssh/known_hosts (POJEMNIK_KNOWN_HOSTS to use
another file); an unknown key is refused unless POJEMNIK_TRUST_NEW_HOST=1.
"""

from tasks import ns

__all__ = ["ns"]
