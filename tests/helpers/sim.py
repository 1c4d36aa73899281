"""Simulated hypervisors for tests: the simulators on PATH, their shared state, a node configured
for them, and a fake clock for unit tests of the container sequence.

    def test_x(sim, node):                       # sim: state folder + PATH + fast boot
        sim.vmsim("define", "kvm", "vm1")
        sim_node_conf(node.root, sim)            # [paths] under sim.root, [container] poll 0.05 s
        drv, log, events = make_driver(node, "container", "kvm", {"name": "vm1"})

The VM's address: give the container `hostname = <an address>` (or run inside a network namespace
whose /etc/netns/<ns>/hosts names it): a running VM's address is plumbed on `lo` only inside a
network namespace, so ping tests run the engine with `ip netns exec` (see `vm_netns`).
"""

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SIM_BIN = REPO / "simulators" / "bin"


@dataclass
class Sim:
    state: Path          # OSVC_SIM_STATE
    root: Path           # a folder standing for "/" of the simulated hosts (technology roots live here)
    env: dict            # the environment the simulators need (for subprocesses)

    def vmsim(self, *args, node=None, check=True):
        env = {**os.environ, **self.env, **({"OSVC_SIM_NODE": node} if node else {})}
        res = subprocess.run([str(SIM_BIN / "vmsim"), *args], env=env, capture_output=True, text=True)
        if check and res.returncode != 0:
            raise AssertionError(f"vmsim {' '.join(args)}: rc {res.returncode}: {res.stderr}")
        return res

    def show(self, tech, name) -> dict:
        return json.loads(self.vmsim("show", tech, name).stdout)

    def cli(self, command, *args, node=None, check=False):
        """Run one simulated CLI (e.g. `xm list`) as `node` would."""
        env = {**os.environ, **self.env, **({"OSVC_SIM_NODE": node} if node else {})}
        return subprocess.run([str(SIM_BIN / command), *args], env=env, capture_output=True, text=True,
                              check=check)


@pytest.fixture
def sim(tmp_path, monkeypatch):
    state, root = tmp_path / "simstate", tmp_path / "simroot"
    state.mkdir()
    root.mkdir()
    # The simulators' `#!/usr/bin/env python3` must find this interpreter first: a version manager's
    # shim (pyenv) costs ~0.5 s a call, and a VM test makes dozens of simulated calls.
    path = os.pathsep.join([str(SIM_BIN), os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = {"OSVC_SIM_STATE": str(state), "OSVC_SIM_BOOT": "0.3", "OSVC_SIM_SHUTDOWN": "0.2", "PATH": path}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Sim(state, root, env)


@pytest.fixture
def simnode(node, sim):
    """The test node (conftest `node`), configured for the simulators (sim_node_conf)."""
    sim_node_conf(node.root, sim)
    return node


def sim_node_conf(root, sim, poll=0.05, paths=None, sections=None):
    """Write `<root>/etc/node.conf`: technology paths under sim.root (or `paths`), fast polls."""
    from drivers.container import PATHS

    table = {key: str(sim.root / value.lstrip("/")) for key, value in PATHS.items() if key != "rsh"}
    table.update({"hpvm": str(SIM_BIN), "ldm": str(SIM_BIN / "ldm"), "ovs_agent": str(SIM_BIN / "ovs-agent"),
                  "rsh": f"{SIM_BIN / 'ssh'} -q -o StrictHostKeyChecking=no -o BatchMode=yes"})
    table.update(paths or {})
    lines = ["[container]", f"poll_interval = {poll}", "", "[paths]"]
    lines += [f"{k} = {v}" for k, v in sorted(table.items())]
    for name, values in (sections or {}).items():
        lines += ["", f"[{name}]"] + [f"{k} = {v}" for k, v in values.items()]
    path = Path(root) / "etc" / "node.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def sim_pool_roots(base, sim, names=("node1", "node2")):
    """{name: root}: node roots under `base` (etc, var, log), each with a simulator node.conf and a
    local transport reaching the others (several simulated nodes on this machine)."""
    roots = {n: Path(base) / n for n in names}
    for root in roots.values():
        for sub in ("etc", "var", "log"):
            (root / sub).mkdir(parents=True)
        sim_node_conf(root, sim, sections={"transport": {"kind": "local"},
                                           "roots": {n: str(r) for n, r in roots.items()}})
    return roots


class FakeClock:
    """clock() and sleep() for the container sequence: sleeping moves time, nothing waits."""

    def __init__(self, start=1000.0):
        self.now = start
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def vm_netns():
    """A network namespace and its /etc/netns/<ns>/hosts (which `ip netns exec` binds on /etc/hosts).

    Yields (name, add_host): add_host(name, addr) appends a hosts line. Run the engine and the
    simulators with `wrap=("ip", "netns", "exec", name)` so names resolve and VM addresses ping.
    Root: a test using it is marked `root` (conftest)."""
    name = f"osvcv{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    etc = Path("/etc/netns") / name
    etc.mkdir(parents=True, exist_ok=True)
    hosts = etc / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")

    def add_host(host, addr):
        with hosts.open("a") as fh:
            fh.write(f"{addr} {host}\n")

    try:
        yield name, add_host
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        for p in etc.iterdir():
            p.unlink()
        etc.rmdir()
