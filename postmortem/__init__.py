"""Read-only tools over the journal and the engine's history: replay, audit, report and the `journal` command family."""
