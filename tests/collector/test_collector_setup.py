"""The collector's setup: the schema created and migrated by the engine with a role that has only the rights
it needs, and nothing of the collector loaded on a node without one (start-up time)."""

import os
import subprocess
import sys

import psycopg
import pytest

from tests.collector.conftest import make_root
from tests.helpers.cli import REPO, osvc
from tests.helpers.launchers import launcher_service


def test_the_engine_creates_the_schema_with_a_role_of_few_rights(node_roots, collector_dsn):
    from collector import schema

    root = node_roots("node1")
    launcher_service(root)
    assert osvc(root, "-s", "web", "start").returncode == 0
    with psycopg.connect(collector_dsn) as conn:
        assert conn.execute("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles "
                            "WHERE rolname = current_user").fetchone() == (False,) * 5
        assert conn.execute("SELECT version FROM osvc_schema").fetchall() == [(schema.CURRENT,)]
        tables = conn.execute("SELECT schemaname, tablename, tableowner FROM pg_tables WHERE tableowner = current_user "
                              "ORDER BY tablename").fetchall()
        assert tables == [("osvc", t, "osvc") for t in ("events", "heads", "journals", "osvc_schema",
                                                          "service_configs", "service_status")]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.elsewhere (x int)")
    with psycopg.connect(collector_dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE DATABASE another")
    # a second node finds the schema there: one migration row, nothing created twice
    r2 = node_roots("node2")
    launcher_service(r2)
    assert osvc(r2, "-s", "web", "start", node="node2").returncode == 0
    with psycopg.connect(collector_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM osvc_schema").fetchone()[0] == 1


def test_a_newer_schema_is_refused(node_roots, collector_dsn):
    root = node_roots("node1")
    assert osvc(root, "journal", "push").returncode == 0       # nothing journaled yet: creates the schema
    with psycopg.connect(collector_dsn) as conn:
        conn.execute("INSERT INTO osvc_schema (version) VALUES (99)")
    launcher_service(root)
    osvc(root, "-s", "web", "start")
    out = osvc(root, "journal", "push")
    assert out.returncode == 1
    assert out.stderr == ("osvc-engine: error: the collector's schema is version 99, this osvc-engine knows versions "
                          "up to 1: upgrade osvc-engine on this node\n")


LOADED = ("import sys, cli; rc = cli.main(sys.argv[1:]); "
          "print(rc, sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('psycopg', 'collector')}))")


def loaded(root, *argv):
    env = {**os.environ, "OSVC_ROOT": str(root), "OSVC_NODENAME": "node1"}
    out = subprocess.run([sys.executable, "-c", LOADED, *argv], env=env, cwd=REPO, capture_output=True, text=True,
                         check=False)
    return out.stdout.splitlines()[-1]


def test_nothing_of_the_collector_loads_without_one(tmp_path):
    root = make_root(tmp_path, "node1")
    launcher_service(root)
    assert loaded(root, "-s", "web", "start") == "0 []"
    assert loaded(root, "journal", "stats") == "0 []"
    assert loaded(root, "journal", "tail") == "0 []"


def test_a_read_that_journals_nothing_does_not_load_it_either(tmp_path, collector_dsn):
    root = make_root(tmp_path, "node1", collector_dsn)
    launcher_service(root)
    assert osvc(root, "-s", "web", "start").returncode == 0
    assert loaded(root, "-s", "web", "print", "status") == "0 []"
    assert loaded(root, "-s", "web", "stop") == "0 ['collector', 'psycopg']"


def test_an_operators_read_only_role_reads_the_fleet_and_cannot_write(node_roots, collector_dsn, pg_server):
    root = node_roots("node1")
    launcher_service(root)
    assert osvc(root, "-s", "web", "start").returncode == 0
    dbname = collector_dsn.split("dbname=")[1].split()[0]
    with pg_server.admin() as conn:                  # docs/collector.md, "Setup"
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'osvc_reader'").fetchone():
            conn.execute("CREATE ROLE osvc_reader LOGIN")
        conn.execute(f"GRANT CONNECT ON DATABASE {dbname} TO osvc_reader")
    with pg_server.admin(dbname) as conn:
        conn.execute("GRANT USAGE ON SCHEMA osvc TO osvc_reader")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA osvc TO osvc_reader")
        conn.execute("ALTER ROLE osvc_reader SET search_path = osvc")
    reader = make_root(root.parent, "desk", pg_server.dsn(dbname, "osvc_reader"))
    local = osvc(root, "journal", "audit")
    fleet = osvc(reader, "journal", "audit", "--collector", node="desk")
    assert fleet.returncode == 0, fleet.stderr
    assert fleet.stdout == local.stdout
    launcher_service(reader)
    out = osvc(reader, "-s", "web", "start", node="desk")
    assert out.returncode == 0                       # the action stands; its ship is refused, and said so
    assert out.stderr.startswith("osvc-engine: warning: journal not shipped: collector ")
    assert "permission denied for table journals" in out.stderr
