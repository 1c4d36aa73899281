"""The scenarios every container technology passes, through the real CLI, against the simulators.

Issue 5: for each technology, start, status up, stop, status down, a failed start with rollback, a
hang that times out, a VM already running elsewhere; the journal shows each phase in order.

A technology's test file describes it with a `Tech` and parametrizes `SCENARIOS`:

    from tests.helpers.container_scenarios import SCENARIOS, Tech     # vm_pool: a fixture (conftest)

    KVM = Tech("kvm", define=define_kvm)          # define(pool, name, running_on=None)

    @pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
    def test_kvm_scenarios(scenario, vm_pool):
        scenario(vm_pool, KVM)

The service: `[container#1] type, name = <vm name>, start_timeout = 4, stop_timeout = 2` plus
`Tech.keywords`; the failed-start scenario adds `[app#1] script = /bin/false, start = 10`.
The hang scenario sets `vmsim fail <tech> <name> start=hang`: the VM's up test must stay false
while the simulator says `booting` (a booting VM is not up yet); its start_timeout is 1 s (the
simulators boot in 0.3 s: the wait is all it costs).

`define(pool, name, running_on=None)` makes the VM exist on the simulated hypervisors the way an
admin would (config files under `pool.sim.root`, `vmsim define <tech> <name> ...`), stopped, or
running on node `running_on`. The pool (`vm_pool` fixture): two node roots node1/node2 sharing the
simulator state, LocalTransport between them, a network namespace whose hosts file names the VM,
so the engine's ping is real (the simulator plumbs a running VM's address in that namespace).
"""

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from tests.helpers.cli import journal_rows, osvc, transitions
from tests.helpers.sim import sim_pool_roots

SVC = "vmsvc"
RID = "container#1"

START_PHASES = [("start", "down", "starting"), ("wait_up", "starting", "wait-up"),
                ("wait_ping", "wait-up", "wait-ping"), ("wait_operational", "wait-ping", "wait-operational"),
                ("started", "wait-operational", "up")]
STOP_PHASES = [("stop", "up", "stopping"), ("wait_down", "stopping", "wait-down"), ("stopped", "wait-down", "down")]


@dataclass
class Tech:
    type: str                                   # the container type keyword
    define: Callable                            # define(pool, name, running_on=None)
    keywords: dict = field(default_factory=dict)  # more [container#1] keywords (e.g. jailroot)
    sim_tech: str = ""                          # the simulator's state folder (default: type)

    @property
    def folder(self):
        return self.sim_tech or self.type


@dataclass
class Pool:
    sim: object
    roots: dict          # node name -> root
    netns: str
    addr: str
    vmname: str

    def osvc(self, *args, node="node1"):
        return osvc(self.roots[node], *args, node=node, wrap=("ip", "netns", "exec", self.netns))

    def status_line(self, node="node1"):
        """The container's line of `print status --refresh`."""
        out = self.osvc("-s", SVC, "print", "status", "--refresh", node=node).stdout
        return next(line for line in out.splitlines() if RID in line)

    def phases(self, node="node1"):
        return [(e, s, d) for rid, e, s, d in transitions(self.roots[node], SVC) if rid == RID]

    def vm(self, tech):
        return self.sim.show(tech.folder, self.vmname)


@pytest.fixture
def vm_pool(sim, vm_netns, tmp_path):
    ns, add_host = vm_netns
    vmname = f"vm{secrets.token_hex(3)}"
    addr = f"10.{secrets.randbelow(200) + 20}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 2}"
    add_host(vmname, addr)
    return Pool(sim, sim_pool_roots(tmp_path, sim), ns, addr, vmname)


def write_service(pool, tech, extra="", start_timeout=4):
    lines = ["[DEFAULT]", "nodes = node1 node2", "", f"[{RID}]", f"type = {tech.type}",
             f"name = {pool.vmname}", f"start_timeout = {start_timeout}", "stop_timeout = 2"]
    lines += [f"{k} = {v}" for k, v in tech.keywords.items()]
    text = "\n".join(lines) + "\n" + extra
    for root in pool.roots.values():
        (Path(root) / "etc" / f"{SVC}.env").write_text(text)


def _ok(res):
    assert res.returncode == 0, f"rc {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


# --- the scenarios ----------------------------------------------------------------------------------
def start_stop(pool, tech):
    """start (every phase journaled in order, with durations), status up, stop, status down."""
    tech.define(pool, pool.vmname)
    write_service(pool, tech)
    _ok(pool.osvc("-s", SVC, "start"))
    assert pool.phases() == START_PHASES
    rows = [r for r in journal_rows(pool.roots["node1"], svc=SVC, kind="transition") if r["rid"] == RID]
    assert all("duration" in r["payload"] for r in rows[1:]), rows
    vm = pool.vm(tech)
    assert (vm["state"], vm["node"]) == ("running", "node1")
    assert " up " in pool.status_line()
    _ok(pool.osvc("-s", SVC, "stop"))
    assert pool.phases() == START_PHASES + STOP_PHASES
    assert pool.vm(tech)["state"] == "off"
    assert " down " in pool.status_line()


def failed_start_rollback(pool, tech):
    """A resource after the container fails: the rollback stops the container this start booted."""
    tech.define(pool, pool.vmname)
    write_service(pool, tech, "\n[app#1]\nscript = /bin/false\nstart = 10\n")
    res = pool.osvc("-s", SVC, "start")
    assert res.returncode != 0
    assert pool.phases() == START_PHASES + STOP_PHASES
    service = [(e, d) for rid, e, s, d in transitions(pool.roots["node1"], SVC) if rid == ""]
    assert ("rollback", "rolling-back") in service and ("rolled_back", "start-failed") in service
    assert pool.vm(tech)["state"] == "off"


def start_hang_times_out(pool, tech):
    """The VM never finishes booting: wait-up gives up after start_timeout, the start fails."""
    tech.define(pool, pool.vmname)
    pool.sim.vmsim("fail", tech.folder, pool.vmname, "start=hang")
    write_service(pool, tech, start_timeout=1)
    res = pool.osvc("-s", SVC, "start")
    assert res.returncode != 0
    assert "Waited too long for startup" in res.stdout + res.stderr
    phases = pool.phases()
    assert phases[:2] == START_PHASES[:2]
    assert phases[2] == ("start_failed", "wait-up", "start-failed")
    failed = [r for r in journal_rows(pool.roots["node1"], svc=SVC, kind="transition")
              if r["rid"] == RID and r["event"] == "start_failed"]
    assert failed[0]["payload"]["reason"] == "Waited too long for startup"


def running_elsewhere(pool, tech):
    """The VM runs on node2: node1 refuses to start it, names node2, and changes nothing."""
    tech.define(pool, pool.vmname, running_on="node2")
    write_service(pool, tech)
    res = pool.osvc("-s", SVC, "start")
    assert res.returncode != 0
    assert f"container {pool.vmname} already started on node2" in res.stdout + res.stderr
    assert pool.phases() == [("start", "down", "starting"), ("start_failed", "starting", "start-failed")]
    assert [r for r in journal_rows(pool.roots["node1"], svc=SVC, kind="command") if r["rid"] == RID] == []
    vm = pool.vm(tech)
    assert (vm["state"], vm["node"]) == ("running", "node2")


SCENARIOS = [start_stop, failed_start_rollback, start_hang_times_out, running_elsewhere]
