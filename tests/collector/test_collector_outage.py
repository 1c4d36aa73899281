"""The collector away, or a push killed mid-transaction: actions succeed all the same, and everything
arrives once it is back, nothing missing, nothing twice. The tests that stop the server have their own
(stopping the session's would disturb the other tests)."""

import os
import queue
import signal
import subprocess
import threading
import time

import psycopg
import pytest

from tests.collector.conftest import make_root
from tests.helpers import pg
from tests.helpers.cli import COMMAND, journal_rows, osvc
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


def test_a_follower_resumes_after_the_collector_restarts(tmp_path, own_server):
    dsn = own_server.create_database()
    root = make_root(tmp_path, "node1", dsn)
    observer = make_root(tmp_path, "observer", dsn)
    launcher_service(root)
    assert osvc(root, "-s", "web", "start").returncode == 0
    env = {**os.environ, "OSVC_ROOT": str(observer), "OSVC_NODENAME": "observer"}
    follower = subprocess.Popen([*COMMAND, "journal", "tail", "--collector", "-f", "-n", "1", "--kind", "action"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=60).startswith("-- ")
        assert lines.get(timeout=60).split()[3] == "end"          # the start's end: following from here
        own_server.stop()
        assert osvc(root, "-s", "web", "stop").returncode == 0     # journaled, not shipped
        own_server.start()
        assert osvc(root, "-s", "web", "start").returncode == 0    # ships the stop's records and its own
        seen = [lines.get(timeout=60).split()[2:4] for _ in range(4)]
        assert seen == [["web", "begin"], ["web", "end"], ["web", "begin"], ["web", "end"]]
        assert lines.empty()
    finally:
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=60) == 0
    err = follower.stderr.read()
    assert err.startswith("osvc-engine: warning: following stopped: collector ")
    assert err.endswith("reconnecting every 2s, then going on from where it stopped\n")


def test_a_push_killed_in_its_transaction_stores_nothing_and_the_next_one_sends_it_all(tmp_path, pg_server):
    dsn = pg_server.create_database()
    assert osvc(make_root(tmp_path, "empty", dsn), "journal", "push").returncode == 0    # the schema
    root = make_root(tmp_path, "node1")
    launcher_service(root)
    for action in ("start", "stop", "start"):
        assert osvc(root, "-s", "web", action).returncode == 0
    (root / "etc" / "node.conf").write_text(f"[collector]\ndsn = {dsn}\n")
    env = {"OSVC_ROOT": str(root), "OSVC_NODENAME": "node1"}
    with psycopg.connect(dsn) as blocker, psycopg.connect(dsn, autocommit=True) as watch:
        blocker.execute("LOCK TABLE events IN SHARE MODE")     # the push's COPY waits here, its head row locked
        push = subprocess.Popen([*COMMAND, "journal", "push"], env={**os.environ, **env},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(600):                                   # until its COPY waits on the lock (60 s at most)
            waiting = watch.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND query LIKE 'COPY events%%'").fetchone()[0]
            if waiting:
                break
            time.sleep(0.1)
        assert waiting == 1
        push.send_signal(signal.SIGKILL)
        push.wait()
        blocker.rollback()                                     # its backend goes on, finds its client gone
    assert rows_of(dsn) == []
    out = osvc(root, "journal", "push")
    assert out.returncode == 0, out.stderr
    local = [(r["seq"], r["event"], r["src"], r["dst"]) for r in journal_rows(root)]
    assert rows_of(dsn) == local
