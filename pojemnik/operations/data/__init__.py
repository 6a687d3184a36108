"""`data.copy`: the data of a previous installation moved into the new stack, files then a
PostgreSQL database, each verified. `copy` is the entry point; `manifest` (what is under a
directory on a host) and `safe_tar` (a tar stream kept inside its target) serve any
capability that moves data between hosts; `refresh` (`data.refresh`) fills one
environment's database from another's on the same engine, scrubbed before it serves; the
underscored modules are their helpers."""
