"""Action handlers wired in cli.py's ACTIONS table: `handler(node, svcname, request) -> int` (exit code).

One module per area (config, status, service actions, SCSI reservations). Handlers parse nothing
themselves: `request` is the engine.request.ActionRequest cli.py built (frozen: an alias hands on a copy).
Errors for the operator are raised as core.errors exceptions; cli.main prints them and exits.
"""
