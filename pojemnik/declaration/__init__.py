"""The declaration and its checks: what the stack should be, as plain data. Pure."""
