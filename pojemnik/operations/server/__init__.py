"""The server itself: `bootstrap` makes a fresh Debian/Ubuntu host ready for the stack,
`healing` installs the watcher that restarts containers which stay unhealthy."""
