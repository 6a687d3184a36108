"""`python3 -m pojemnik.agent --config FILE --state DIR run NAME | records | tick`."""

from .cli import main

raise SystemExit(main())
