"""The collector: every node's journal, service env files and statuses in one PostgreSQL database
(docs/collector.md). Optional: without `[collector] dsn` in etc/node.conf nothing of this package is
imported, and psycopg is imported only by `collector.connect` when a connection is made."""
