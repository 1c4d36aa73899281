"""Action handlers wired in cli.py's ACTIONS table: `handler(node, svcname, opts) -> int` (exit code).

One module per area (config, status, service actions). Handlers parse nothing themselves: cli.py built `opts`.
Errors for the operator are raised as core.errors exceptions; cli.main prints them and exits.
"""
