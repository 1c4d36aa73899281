"""The collector's SQL schema, created and migrated by the engine (docs/collector.md, "Schema").

`osvc_schema` holds one row per migration applied. `ensure(conn)` runs the missing ones, each in the
transaction that records it, under a transaction-scoped advisory lock: two nodes pushing for the first
time at once do not both create the tables (the second waits, then finds them). Tables go in the first
schema of the role's search_path: with the setup of docs/collector.md, the schema named after the role,
which the role owns; it needs no other right (no superuser, no CREATE on the database).
"""

from collector.connect import CollectorError

VERSION_TABLE = "osvc_schema"
LOCK_KEY = 0x6F737663    # pg_advisory_xact_lock key: 'osvc'

# (version, statements): append, never edit a released one (a node with an older engine reads the
# version and refuses a newer schema it does not know).
MIGRATIONS = (
    (1, (
        # one row per journal shipped: its node, and the node that shipped it (itself, or the host relaying
        # a guest's or peer's mirror)
        """CREATE TABLE journals (
             uuid uuid PRIMARY KEY,
             node text NOT NULL,
             relay text NOT NULL,
             first_seen timestamptz NOT NULL DEFAULT now())""",
        # what the collector holds of each journal: every seq up to `seq` (no gap), `hash` the chain's head
        """CREATE TABLE heads (
             journal uuid PRIMARY KEY REFERENCES journals,
             seq bigint NOT NULL,
             hash bytea NOT NULL,
             hlc bigint NOT NULL DEFAULT 0,
             ts bigint NOT NULL DEFAULT 0,
             shipped_at timestamptz NOT NULL DEFAULT now())""",
        # the journal's rows as stored on the node (payload: the msgpack bytes the chain hashes), plus the
        # payload as jsonb for SQL (derived at ship time, outside the chain)
        """CREATE TABLE events (
             journal uuid NOT NULL,
             seq bigint NOT NULL,
             ts bigint NOT NULL,
             hlc bigint NOT NULL,
             node text NOT NULL,
             svc text NOT NULL,
             rid text NOT NULL,
             kind text NOT NULL,
             machine text NOT NULL,
             event text NOT NULL,
             src text NOT NULL,
             dst text NOT NULL,
             action_id text NOT NULL,
             payload bytea NOT NULL,
             durable boolean NOT NULL,
             hash bytea NOT NULL,
             payload_json jsonb,
             PRIMARY KEY (journal, seq))""",
        "CREATE INDEX events_order ON events (hlc, node, seq)",
        "CREATE INDEX events_action ON events (action_id)",
        "CREATE INDEX events_svc ON events (svc, hlc)",
        # the env file of each service, as the last `push` sent it (any node: the file is the same on all)
        """CREATE TABLE service_configs (
             svc text PRIMARY KEY,
             text text NOT NULL,
             digest text NOT NULL,
             mtime_ns bigint NOT NULL,
             node text NOT NULL,
             pushed_at timestamptz NOT NULL DEFAULT now())""",
        # the latest status document of each service instance (a service on a node)
        """CREATE TABLE service_status (
             svc text NOT NULL,
             node text NOT NULL,
             doc jsonb,
             pushed_at timestamptz NOT NULL DEFAULT now(),
             PRIMARY KEY (svc, node))""",
    )),
)
CURRENT = MIGRATIONS[-1][0]


def version(conn):
    """The schema version of the database (0: none yet)."""
    row = conn.execute(f"SELECT to_regclass('{VERSION_TABLE}') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    return conn.execute(f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}").fetchone()[0]


def ensure(conn):
    """Bring the schema to CURRENT (a no-op after the first time: one query). Commits."""
    found = version(conn)
    conn.commit()
    if found == CURRENT:
        return found
    if found > CURRENT:
        raise CollectorError(f"the collector's schema is version {found}, this osvc-engine knows versions up "
                             f"to {CURRENT}: upgrade osvc-engine on this node")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version integer PRIMARY KEY, "
                     f"applied_at timestamptz NOT NULL DEFAULT now())")
        done = conn.execute(f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}").fetchone()[0]
        for number, statements in MIGRATIONS:
            if number <= done:
                continue
            for sql in statements:
                conn.execute(sql)
            conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (%s)", (number,))
    conn.commit()
    return CURRENT
