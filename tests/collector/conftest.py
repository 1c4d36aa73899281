"""The collector's fixtures: one real PostgreSQL server per test session (tests/helpers/pg.py), a fresh
database per test, and node roots whose etc/node.conf names it. Without PostgreSQL installed, every
collector test is skipped with the reason (CI installs it: .ci/run)."""

import pytest

from tests.helpers import pg


@pytest.fixture(scope="session")
def pg_server():
    reason = pg.absent_reason()
    if reason:
        pytest.skip(reason)
    server = pg.Server()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def collector_dsn(pg_server):
    """The collector role's dsn to a fresh database (schema not created yet: the engine does that)."""
    return pg_server.create_database()


def make_root(base, name, dsn=None):
    """A node root named `name` (etc/ var/ log/), its node.conf naming the collector when `dsn` is given."""
    root = base / name
    for sub in ("etc", "var", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    if dsn:
        (root / "etc" / "node.conf").write_text(f"[collector]\ndsn = {dsn}\n")
        (root / "etc" / "node.conf").chmod(0o644)
    return root


@pytest.fixture
def node_roots(tmp_path, collector_dsn):
    """make(name) -> a node root pushing to this test's collector."""
    return lambda name: make_root(tmp_path, name, collector_dsn)
