"""`python3 -m pojemnik.agent.alerts --config F --state D check|incidents`."""

import sys

from .cli import main

sys.exit(main())
