"""A throw-away network namespace with a veth pair `eth0`/`eth0p` (both up) and lo up.

The kernel here has no `dummy` link type, so eth0 is one end of a veth pair inside the namespace.
Python 3.11 has no os.setns: code under test runs inside the namespace in a child interpreter
(`ip netns exec <ns> python -m tests.helpers.ip_call`), see `run_ip_driver`.
"""

import json
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@pytest.fixture
def netns():
    """Root: a test using it is marked `root` (conftest)."""
    if not shutil.which("ip"):
        pytest.skip("ip is not installed (apt-get install iproute2)")
    name = f"osvct{secrets.token_hex(4)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
        for dev in ("lo", "eth0", "eth0p"):
            _ip("-n", name, "link", "set", dev, "up")
        yield name
    finally:
        _ip("netns", "del", name, check=False)


def ns_ip(ns, *args, check=True):
    """Run `ip <args>` inside the namespace."""
    return _ip("-n", ns, *args, check=check)


def run_ip_driver(ns, root, conf, ops, tags=(), context=None):
    """Run ip driver operations inside `ns`; a list of {op, ok, error, value, log, argv}.
    `context`: Context fields given as JSON values."""
    request = {"root": str(root), "conf": conf, "ops": ops, "tags": list(tags), "context": context or {}}
    proc = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "tests.helpers.ip_call",
                           json.dumps(request)], capture_output=True, text=True, cwd=REPO, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"ip_call.py failed: {proc.stderr}")
    return json.loads(proc.stdout)
