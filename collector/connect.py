"""Where the collector is (etc/node.conf `[collector] dsn`) and a connection to it.

psycopg is imported here and only here, inside `connect`: a node without a collector, and every command
that does not talk to one, never loads it (start-up time: the CLI imports nothing it does not use).
"""

from core.errors import OsvcError, UsageError

SECTION, KEY = "collector", "dsn"
# Bounds of the attempt after each action (collector.hook): an unreachable or stuck collector costs an
# action at most about this. libpq's connect_timeout is whole seconds, 2 at least.
BOUNDED = {"connect_timeout": 2, "statement_timeout_ms": 3000}
# Explicit commands (journal push, the readers, pull) wait longer, but never forever.
PATIENT = {"connect_timeout": 10, "statement_timeout_ms": 600_000}


class CollectorError(OsvcError):
    """The collector cannot be reached or refused a statement (exit 1): nothing of the failed
    transaction is stored, and the node's journal still holds every record (it is the spool)."""


def dsn_of(node):
    """The libpq connection string of etc/node.conf `[collector] dsn`, or None (no collector)."""
    value = node.setting(SECTION, KEY)
    return value.strip() if value and value.strip() else None


def require_dsn(node):
    dsn = dsn_of(node)
    if dsn is None:
        raise UsageError(f"no collector configured: set `[{SECTION}] {KEY} = <libpq connection string>` in "
                         f"{node.conf_path} (docs/collector.md)")
    return dsn


def where(dsn):
    """The collector as a message names it: host/socket and database, never a password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        d = conninfo_to_dict(dsn)
    except Exception:
        return "the collector"
    return f"collector {d.get('host') or 'localhost'}:{d.get('port') or 5432}/{d.get('dbname') or d.get('user') or ''}"


def connect(dsn, *, bounds=PATIENT, autocommit=False):
    """A psycopg connection to the collector, with timeouts: connect_timeout (s), statement_timeout,
    and tcp_user_timeout so a peer gone silent mid-statement is noticed too. CollectorError when it fails."""
    import psycopg

    ms = bounds["statement_timeout_ms"]
    try:
        conn = psycopg.connect(dsn, connect_timeout=bounds["connect_timeout"], autocommit=autocommit,
                               options=f"-c statement_timeout={ms} -c lock_timeout={ms}",
                               tcp_user_timeout=ms, application_name="osvc-engine")
    except psycopg.Error as exc:
        raise CollectorError(f"cannot reach {where(dsn)}: {_first_line(exc)}") from None
    return conn


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe(exc, dsn):
    """A psycopg error as one line naming the collector."""
    return f"{where(dsn)}: {_first_line(exc)}"
