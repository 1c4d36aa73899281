"""Per-node facts of the simulated hypervisor hosts (what the lab technician breaks on purpose).

    <state>/hosts/<node>.json    e.g. {"hvm": false, "xend": false, "ovs_agent_down": ["OVSMonitorServer"]}

    hvm              false: `virsh capabilities` lists no hvm guest (the CPU has no VT-x/AMD-V)
    xend             false: xend is not running (`xm info`, `xm list`... fail as xm does)
    ovs_agent_down   OVM agent daemons that are not running (`/etc/init.d/ovs-agent status`)

Missing file or key: the healthy default. Tests call set_host(); `ovs-agent stop|start` edits
ovs_agent_down like the real init script.
"""

import json

from simulators import core

DEFAULTS = {"hvm": True, "xend": True, "ovs_agent_down": []}


def _path(node):
    return core.state_dir() / "hosts" / f"{node}.json"


def host(node=None) -> dict:
    path = _path(node or core.node_name())
    facts = dict(DEFAULTS)
    if path.exists():
        facts.update(json.loads(path.read_text()))
    return facts


def set_host(node=None, **facts) -> dict:
    """Change facts of `node` (default: this node); returns the whole record."""
    path = _path(node or core.node_name())
    current = host(node)
    current.update(facts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: v for k, v in current.items() if DEFAULTS.get(k) != v}, indent=1))
    return current


def next_domid() -> int:
    """Domain ids grow like a hypervisor's (never reused while the simulation lives)."""
    path = core.state_dir() / "hosts" / "domid"
    path.parent.mkdir(parents=True, exist_ok=True)
    value = int(path.read_text() or 0) + 1 if path.exists() else 1
    path.write_text(str(value))
    return value
