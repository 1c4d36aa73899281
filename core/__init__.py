"""The bottom layer: errors, records, node identity, locks, logs, fork plumbing and file writes (stdlib only)."""
