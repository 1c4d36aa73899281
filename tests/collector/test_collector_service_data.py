"""`push` stores a service's env file and status in the collector; `pull` writes the env file back to
etc/ on another node, keeping a newer local file unless --force."""

import json
import os

import psycopg

from tests.collector.conftest import make_root
from tests.helpers.cli import osvc
from tests.helpers.launchers import launcher_service


def test_push_then_pull_round_trip(node_roots):
    r1, r2 = node_roots("node1"), node_roots("node2")
    launcher_service(r1)
    assert osvc(r1, "-s", "web", "start").returncode == 0
    out = osvc(r1, "-s", "web", "push")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "web: env file and its status stored in the collector"
    env1 = r1 / "etc" / "web.env"

    out = osvc(r2, "-s", "web", "pull", node="node2")
    assert out.returncode == 0, out.stderr
    env2 = r2 / "etc" / "web.env"
    assert out.stdout.startswith(f"{env2}: written from the collector (pushed by node1, modified ")
    assert env2.read_text() == env1.read_text()
    assert env2.stat().st_mtime_ns == env1.stat().st_mtime_ns
    assert osvc(r2, "-s", "web", "pull", node="node2").stdout.startswith(f"{env2}: already the collector's copy")


def test_push_stores_the_status_document(node_roots, collector_dsn):
    r1 = node_roots("node1")
    launcher_service(r1)
    assert osvc(r1, "-s", "web", "start").returncode == 0
    assert osvc(r1, "-s", "web", "push").returncode == 0
    cached = json.loads((r1 / "var" / "web" / "status.json").read_text())
    with psycopg.connect(collector_dsn) as conn:
        svc, node, doc = conn.execute("SELECT svc, node, doc FROM service_status").fetchone()
        overall = conn.execute("SELECT doc->>'overall' FROM service_status").fetchone()[0]
    assert (svc, node, doc) == ("web", "node1", cached)
    assert overall == "up"


def test_pull_keeps_a_newer_local_file_unless_forced(node_roots):
    r1, r2 = node_roots("node1"), node_roots("node2")
    launcher_service(r1)
    assert osvc(r1, "-s", "web", "push").returncode == 0
    env2 = r2 / "etc" / "web.env"
    env2.write_text("[DEFAULT]\nnodes = node2\n")
    newer = (r1 / "etc" / "web.env").stat().st_mtime_ns + 10**9
    os.utime(env2, ns=(newer, newer))
    out = osvc(r2, "-s", "web", "pull", node="node2")
    assert out.returncode == 1
    assert out.stderr.startswith(f"osvc-engine: error: {env2} is newer (modified ")
    assert out.stderr.endswith("nothing written. Push it (`osvc-engine -s web push`), or overwrite it with "
                               "`osvc-engine -s web pull --force`\n")
    assert env2.read_text() == "[DEFAULT]\nnodes = node2\n"
    out = osvc(r2, "-s", "web", "pull", "--force", node="node2")
    assert out.returncode == 0, out.stderr
    assert env2.read_text() == (r1 / "etc" / "web.env").read_text()


def test_the_collector_keeps_the_newest_env_file(node_roots, collector_dsn):
    r1, r2 = node_roots("node1"), node_roots("node2")
    launcher_service(r1)
    launcher_service(r2)
    old = (r1 / "etc" / "web.env").stat().st_mtime_ns - 10**9
    os.utime(r2 / "etc" / "web.env", ns=(old, old))
    assert osvc(r1, "-s", "web", "push").returncode == 0
    out = osvc(r2, "-s", "web", "push", node="node2")
    assert out.returncode == 0
    assert out.stdout.splitlines()[-1].startswith("web: the collector keeps a newer env file (from node1, modified ")
    with psycopg.connect(collector_dsn) as conn:
        assert conn.execute("SELECT node FROM service_configs WHERE svc = 'web'").fetchone() == ("node1",)


def test_pull_of_a_service_the_collector_does_not_have(node_roots):
    r2 = node_roots("node2")
    node_roots("node1")
    out = osvc(r2, "-s", "db1", "pull", node="node2")
    assert out.returncode == 4
    assert out.stderr == ("osvc-engine: error: the collector has no env file of service db1: push it from a node "
                          "that has it (`osvc-engine -s db1 push`)\n")


def test_pull_without_a_collector(tmp_path):
    root = make_root(tmp_path, "node1")
    out = osvc(root, "-s", "web", "pull")
    assert out.returncode == 2
    assert out.stderr == (f"osvc-engine: error: no collector configured: set `[collector] dsn = <libpq connection "
                          f"string>` in {root}/etc/node.conf (docs/collector.md)\n")
