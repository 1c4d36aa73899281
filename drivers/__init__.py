"""Resource drivers: one module per technology on the contract of drivers/base.py; the registry says which."""
