"""The collector away: actions succeed all the same, and everything arrives once it is back, nothing
missing, nothing twice. The collector's own server here (stopping the session's would disturb others)."""

import psycopg
import pytest

from tests.collector.conftest import make_root
from tests.helpers import pg
from tests.helpers.cli import journal_rows, osvc
from tests.helpers.launchers import launcher_service, running


@pytest.fixture
def own_server(pg_server):        # pg_server: skipped with its reason when PostgreSQL is absent
    server = pg.Server()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def rows_of(dsn):
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT seq, event, src, dst FROM events ORDER BY seq").fetchall()


def test_actions_run_while_the_collector_is_down_and_the_backlog_arrives_after(tmp_path, own_server):
    dsn = own_server.create_database()
    root = make_root(tmp_path, "node1", dsn)
    state = launcher_service(root)
    assert osvc(root, "-s", "web", "start").returncode == 0
    shipped = len(rows_of(dsn))
    assert shipped == len(journal_rows(root))

    own_server.stop()
    out = osvc(root, "-s", "web", "stop")
    assert out.returncode == 0
    assert running(state) == []
    assert out.stderr.startswith("osvc-engine: warning: journal not shipped: cannot reach collector ")
    assert out.stderr.endswith("; it goes at the next action or `osvc-engine journal push`\n")
    (state / "b.fail").touch()
    failed = osvc(root, "-s", "web", "start")
    assert failed.returncode == 1                     # the action's own outcome, whatever the collector
    assert "journal not shipped" in failed.stderr
    (state / "b.fail").unlink()
    out = osvc(root, "journal", "push")
    assert out.returncode == 1
    assert out.stderr.startswith("osvc-engine: error: cannot reach collector ")

    own_server.start()
    out = osvc(root, "-s", "web", "start")            # the next action ships the backlog with its own records
    assert out.returncode == 0 and out.stderr == ""
    local = [(r["seq"], r["event"], r["src"], r["dst"]) for r in journal_rows(root)]
    assert rows_of(dsn) == local                      # every seq once, in order, none missing
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT seq FROM heads").fetchone()[0] == len(local)
