"""The engine's read model of its own journal: the fold, snapshots and the status observations it writes."""
