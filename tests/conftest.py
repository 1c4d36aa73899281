import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


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


def needs_root():
    return pytest.mark.skipif(os.geteuid() != 0, reason="needs root (loop devices, namespaces, mounts)")
