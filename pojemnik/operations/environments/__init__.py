"""Acting across environments (`POJEMNIK_ENV`): refreshing one environment's database
from another's on the same engine (`refresh`), production never overwritten unless asked
by name."""
