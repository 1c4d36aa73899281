"""Fixtures every test module sees: the node root, the helper modules' fixtures (registered once here,
never imported by name), and the `root` marker's skip.

`root`: a test that needs root (loop devices, network namespaces, mounts) is marked
`@pytest.mark.root` (or its module's `pytestmark`); a test using one of ROOT_FIXTURES is marked here.
Without root, every marked test is skipped with one reason.
"""

import os

import pytest

pytest.register_assert_rewrite("tests.helpers")   # their asserts (crash cycles, scenarios) explain failures too

pytest_plugins = [
    "tests.helpers.sim",
    "tests.helpers.loop",
    "tests.helpers.netns",
    "tests.helpers.container_scenarios",
    "tests.helpers.journal_scenarios",
    "tests.helpers.ovm",
    "tests.helpers.guest",
    "tests.helpers.deps",
]

ROOT_REASON = "needs root (loop devices, namespaces, mounts)"
ROOT_FIXTURES = {"loop_image", "netns", "vm_netns", "lxc_guest"}   # loop devices, network namespaces, containers


def pytest_collection_modifyitems(config, items):
    # `slow` first (the journal soak is the longest test by far): under xdist, the other workers run the
    # rest meanwhile instead of waiting for a soak begun halfway through the run
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    skip = pytest.mark.skip(reason=ROOT_REASON)
    for item in items:
        if item.get_closest_marker("root") is None and ROOT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.root)
        if item.get_closest_marker("root") is not None and os.geteuid() != 0:
            item.add_marker(skip)


@pytest.fixture
def osvc_root(tmp_path, monkeypatch):
    """A fresh node root (OSVC_ROOT) named node1, with etc/ var/ log/."""
    root = tmp_path / "root"
    for sub in ("etc", "var", "log"):
        (root / sub).mkdir(parents=True)
    monkeypatch.setenv("OSVC_ROOT", str(root))
    monkeypatch.setenv("OSVC_NODENAME", "node1")
    return root


@pytest.fixture
def node(osvc_root):
    from core.node import Node

    return Node(osvc_root, "node1")
