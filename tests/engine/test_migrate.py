"""`switch --to NODE` and `migrate --to NODE` (docs/agent-reference.md §5.10) through the real CLI, on two
simulated nodes whose roots reach each other through [transport] kind = local (sim_pool_roots).

- switch: a launcher service stops on node1 and starts on node2, each node journaling its part;
- migrate: an OVM guest (xm migrate -l) and the VM cookbook's hpvm guest (hpvmmigrate) move live to
  node2; the journal of node1 holds the container's up -> migrating -> down and the command, the
  simulator says the VM runs on node2, node2's status shows it up;
- refusals before any effect (kvm, --to missing, --to self, unknown node) and a failed migration.
"""

import re
import secrets
import shutil
import subprocess

import pytest

from tests.helpers.cli import journal_rows, osvc, transitions, write_launcher
from tests.helpers.launchers import SCRIPT
from tests.helpers.loop import attached
from tests.helpers.sim import sim_pool_roots
from tests.helpers.paths import DATA

SEEDS = DATA / "seeds"
UUID = "0004fb0000060000a3e6b1d4c5f7a901"


def ok(res):
    assert res.returncode == 0, f"rc {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


def actions(root, svc):
    """[(event, action, payload)] of the service's action records on a node."""
    return [(r["event"], r["payload"].get("action"), r["payload"])
            for r in journal_rows(root, svc=svc, kind="action")]


def commands(root, svc):
    return [r["payload"]["argv"] for r in journal_rows(root, svc=svc, kind="command")]


def last_action(root, svc, name):
    """The records of the last action `name` of the service on a node."""
    rows = journal_rows(root, svc=svc)
    begin = [r for r in rows if r["kind"] == "action" and r["event"] == "begin"
             and r["payload"].get("action") == name][-1]
    return [r for r in rows if r["action_id"] == begin["action_id"]]


def rid_status(text, rid):
    """The status word of a resource line of `print status` (after the flags column)."""
    words = next(line for line in text.splitlines() if rid in line).split()
    return words[words.index(rid) + 2]


def transitions_of(records):
    """(rid, event, src, dst) of each transition among the records, in journal order."""
    return [(r["rid"], r["event"], r["src"], r["dst"]) for r in records if r["kind"] == "transition"]


def end_of(records):
    return next(r["payload"] for r in records if r["kind"] == "action" and r["event"] == "end")


# --- switch ------------------------------------------------------------------------------------------
@pytest.fixture
def app_pool(sim, tmp_path):
    roots = sim_pool_roots(tmp_path / "nodes", sim)
    states = {}
    for name, root in roots.items():
        state = states[name] = root / "state"
        state.mkdir()
        write_launcher(root / "etc" / "web.d" / "a", SCRIPT.format(state=state, name="a"))
        (root / "etc" / "web.env").write_text("[DEFAULT]\nnodes = node1 node2\n\n"
                                              "[app#1]\nscript = a\nstart = 10\nstop = 10\ncheck = 10\n")
    return roots, states


def test_switch_stops_here_and_starts_on_the_destination(app_pool):
    roots, states = app_pool
    ok(osvc(roots["node1"], "-s", "web", "start"))
    assert (states["node1"] / "a").exists()
    res = ok(osvc(roots["node1"], "-s", "web", "switch", "--to", "node2"))
    assert not (states["node1"] / "a").exists()
    assert (states["node2"] / "a").exists()
    assert any(line.endswith("exec 'osvc-engine -s web start' on node node2") for line in res.stdout.splitlines())
    records = last_action(roots["node1"], "web", "switch")
    begin = records[0]["payload"]
    assert (begin["action"], begin["to"]) == ("switch", "node2")
    moves = transitions_of(records)
    assert moves == [("", "switch", "started", "switching"), ("app#1", "stop", "up", "stopping"),
                     ("app#1", "stopped", "stopping", "down"), ("", "stopped", "switching", "stopped")]
    remote = [r["payload"] for r in records if r["kind"] == "command" and "osvc-engine" in r["payload"]["argv"][0]]
    assert [p["argv"][1:] for p in remote] == [["-s", "web", "start"]]
    assert remote[0]["rc"] == 0
    assert end_of(records)["outcome"] == "ok"
    # node2 journaled its own start
    node2 = [(e, a, p["outcome"]) for e, a, p in actions(roots["node2"], "web") if e == "end"]
    assert node2 == [("end", "start", "ok")]
    assert [(rid, e) for rid, e, _, _ in transitions(roots["node2"], "web") if rid] == [
        ("app#1", "start"), ("app#1", "started")]


def test_switch_with_a_failing_remote_start_names_the_node(app_pool):
    roots, states = app_pool
    ok(osvc(roots["node1"], "-s", "web", "start"))
    (states["node2"] / "a.fail").touch()
    res = osvc(roots["node1"], "-s", "web", "switch", "--to", "node2")
    assert res.returncode == 1
    assert "start on node node2 failed (rc 1): the service is stopped on node1" in res.stderr
    assert not (states["node1"] / "a").exists() and not (states["node2"] / "a").exists()
    end = end_of(last_action(roots["node1"], "web", "switch"))
    assert (end["outcome"], end["rc"]) == ("failed", 1)


@pytest.mark.parametrize("args, rc, message", [
    ((), 2, "a destination node must be provided this action"),
    (("--to", "node1"), 1, "the destination is the source node"),
    (("--to", "node9"), 1, "the destination node node9 is not in the service's nodes or drpnodes (node1, node2)"),
])
def test_destination_checks_refuse_before_any_effect(app_pool, args, rc, message):
    roots, states = app_pool
    ok(osvc(roots["node1"], "-s", "web", "start"))
    for action in ("switch", "migrate"):
        res = osvc(roots["node1"], "-s", "web", action, *args)
        assert res.returncode == rc, res.stderr
        assert f"osvc-engine: error: {message}" in res.stderr
        refused = [p for e, a, p in actions(roots["node1"], "web") if e == "refused" and a == action]
        assert refused[-1]["reason"] == message
    assert (states["node1"] / "a").exists()
    assert not journal_rows(roots["node2"], svc="web") if (roots["node2"] / "var" / "journal.db").exists() else True


# --- migrate -------------------------------------------------------------------------------------------
def ovm_cfg():
    return (f"OVM_simple_name = 'ovmguest1'\nname = '{UUID}'\nmemory = '1024'\nvcpus = 1\n"
            "disk = ['phy:/dev/mapper/360060160a1b2c3d4,xvdb,w']\nvif = ['bridge=xenbr0']\n")


@pytest.fixture
def ovm_pool(sim, vm_netns, tmp_path):
    """A minimal ovm service (no hb: no --cluster needed) on node1/node2, the guest's name resolving."""
    ns, add_host = vm_netns
    octets = (secrets.randbelow(200) + 20, secrets.randbelow(250) + 1, secrets.randbelow(250) + 2)
    add_host("ovmguest1", "10.{}.{}.{}".format(*octets))
    roots = sim_pool_roots(tmp_path / "nodes", sim)
    for root in roots.values():
        (root / "etc" / "ovmguest1.env").write_text(
            f"[DEFAULT]\nnodes = node1 node2\n\n[container#1]\ntype = ovm\nname = ovmguest1\nuuid = {UUID}\n")
    cfg = sim.root / "var" / "ovs" / "mount" / "REPO" / "running_pool" / UUID / "vm.cfg"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(ovm_cfg())
    wrap = ("ip", "netns", "exec", ns)
    return roots, (lambda node, *args: osvc(roots[node], "-s", "ovmguest1", *args, node=node, wrap=wrap))


def test_migrate_ovm_moves_the_running_guest_to_the_destination(ovm_pool, sim):
    roots, run = ovm_pool
    ok(run("node1", "start"))
    res = ok(run("node1", "migrate", "--to", "node2"))
    lines = res.stdout.splitlines()
    assert any(line.endswith(f"xm migrate -l {UUID} node2") for line in lines), res.stdout
    assert any(line.endswith("exec 'osvc-engine -s ovmguest1 startfs --master' on node node2") for line in lines)
    records = last_action(roots["node1"], "ovmguest1", "migrate")
    moves = transitions_of(records)
    assert moves == [("", "migrate", "started", "migrating"),
                     ("container#1", "migrate", "up", "migrating"),
                     ("container#1", "stopped", "migrating", "down"),
                     ("", "stopped", "migrating", "stopped")]
    argvs = [r["payload"]["argv"] for r in records if r["kind"] == "command"]
    assert ["xm", "migrate", "-l", UUID, "node2"] in argvs
    remote = [a[1:] for a in argvs if a[0].endswith("osvc-engine")]
    assert remote == [["-s", "ovmguest1", "startfs", "--master"], ["-s", "ovmguest1", "status", "--refresh"]]
    assert end_of(records)["outcome"] == "ok"
    vm = sim.show("ovm", "ovmguest1")
    assert (vm["state"], vm["node"]) == ("running", "node2")
    # the destination's status shows the container up there, the source's down
    status2 = ok(run("node2", "print", "status", "--refresh")).stdout
    assert rid_status(status2, "container#1") == "up", status2
    status1 = ok(run("node1", "print", "status", "--refresh")).stdout
    assert rid_status(status1, "container#1") == "down", status1
    # the audit shows the migrating phase with its duration
    audit = ok(osvc(roots["node1"], "journal", "audit", "-s", "ovmguest1", "--kind", "migration")).stdout
    assert re.search(r"container#1\s+migrating [\d.]+m?s -> down", audit), audit


def test_migrate_failure_leaves_the_guest_up_here(ovm_pool, sim):
    roots, run = ovm_pool
    ok(run("node1", "start"))
    sim.vmsim("fail", "ovm", "ovmguest1", "migrate=fail")
    res = run("node1", "migrate", "--to", "node2")
    assert res.returncode == 1
    assert "live migration of ovmguest1 to node node2 failed, the container is still running on node1" in res.stderr
    records = last_action(roots["node1"], "ovmguest1", "migrate")
    moves = transitions_of(records)
    assert moves == [("", "migrate", "started", "migrating"),
                     ("container#1", "migrate", "up", "migrating"),
                     ("container#1", "started", "migrating", "up"),
                     ("", "started", "migrating", "started")]
    seen = [r["payload"] for r in records if r["kind"] == "observation"]
    assert seen == [{"status": "up", "believed": "migrating"}]
    assert (end_of(records)["outcome"], end_of(records)["rc"]) == ("failed", 1)
    vm = sim.show("ovm", "ovmguest1")
    assert (vm["state"], vm["node"]) == ("running", "node1")
    # the destination gave back what its startfs took: nothing of the service stays active on two nodes
    remote = [a[3:] for a in commands(roots["node1"], "ovmguest1") if a[0].endswith("osvc-engine")]
    assert remote == [["startfs", "--master"], ["stopfs", "--master"]]
    assert "stopping what startfs started on node node2" in res.stdout
    node2 = [(a, p["outcome"]) for e, a, p in actions(roots["node2"], "ovmguest1") if e == "end"]
    assert node2 == [("startfs", "ok"), ("stopfs", "ok")]


def test_migrate_hpvm_seed_runs_hpvmmigrate(sim, tmp_path):
    roots = sim_pool_roots(tmp_path / "nodes", sim, names=("node109", "node110"))
    for root in roots.values():
        shutil.copy(SEEDS / "vm188.env", root / "etc" / "vm188.env")
    sim.vmsim("define", "hpvm", "vm188", "--running", "--node", "node109", "--disk", "/dev/rdisk/disk10")
    res = ok(osvc(roots["node109"], "-s", "vm188", "migrate", "--to", "node110", node="node109"))
    records = last_action(roots["node109"], "vm188", "migrate")
    argvs = [r["payload"]["argv"] for r in records if r["kind"] == "command"]
    assert [a for a in argvs if a[0].endswith("hpvmmigrate")][0][1:] == ["-o", "-P", "vm188", "-h", "node110"]
    moves = [m for m in transitions_of(records) if m[0] == "container#1"]
    # the engine never started it: the probe saw it up first (journaled), then it moved
    assert moves == [("container#1", "observed_up", "down", "up"), ("container#1", "migrate", "up", "migrating"),
                     ("container#1", "stopped", "migrating", "down")], res.stdout
    vm = sim.show("hpvm", "vm188")
    assert (vm["state"], vm["node"]) == ("running", "node110")


def test_migrate_refused_for_kvm(sim, tmp_path):
    roots = sim_pool_roots(tmp_path / "nodes", sim)
    (roots["node1"] / "etc" / "kvm1.env").write_text(
        "[DEFAULT]\nnodes = node1 node2\n\n[container#1]\ntype = kvm\nname = kvm1\n")
    res = osvc(roots["node1"], "-s", "kvm1", "migrate", "--to", "node2")
    message = "live migration is not supported for container type kvm: use switch"
    assert res.returncode == 1 and f"osvc-engine: error: {message}" in res.stderr
    rows = journal_rows(roots["node1"], svc="kvm1")
    assert [(r["kind"], r["event"]) for r in rows] == [("action", "refused")]
    assert rows[0]["payload"]["reason"] == message


def test_migrate_of_an_hb_driven_service_needs_cluster(sim, tmp_path):
    roots = sim_pool_roots(tmp_path / "nodes", sim, names=("ovmnode1", "ovmnode2"))
    shutil.copy(SEEDS / "ovmguest1.env", roots["ovmnode1"] / "etc" / "ovmguest1.env")
    res = osvc(roots["ovmnode1"], "-s", "ovmguest1", "migrate", "--to", "ovmnode2", node="ovmnode1")
    assert res.returncode == 1
    assert ("this service is managed by a clusterware, thus direct service manipulation is disabled (migrate). "
            "the --cluster option circumvent this safety net.") in res.stderr
    assert [(r["kind"], r["event"]) for r in journal_rows(roots["ovmnode1"], svc="ovmguest1")] == [
        ("action", "refused")]


# --- migrate with SCSI-3 reservation companions ----------------------------------------------------------------
@pytest.fixture
def hpvm_pr_pool(sim, tmp_path):
    """vm188 (hpvm, scsireserv = true) running on node1, its LUN /dev/sdb reserved by node1 (key 0x1a)."""
    from simulators import sg_persist as san

    roots = sim_pool_roots(tmp_path / "nodes", sim)
    for (name, root), key in zip(roots.items(), ("0x1a", "0x2b")):
        with open(root / "etc" / "node.conf", "a") as fh:
            fh.write(f"\n[node]\nprkey = {key}\n")
        (root / "etc" / "vm188.env").write_text(
            "[DEFAULT]\nnodes = node1 node2\n\n[container#1]\ntype = hpvm\nname = vm188\nscsireserv = true\n")
    san.define("/dev/sdb")
    sim.vmsim("define", "hpvm", "vm188", "--running", "--node", "node1", "--disk", "/dev/sdb")
    ok(osvc(roots["node1"], "-s", "vm188", "prstart"))
    assert san.show("/dev/sdb")["registrations"] == {"node1": 0x1a}
    return roots, san


def test_migrate_with_companions_moves_the_reservations(hpvm_pr_pool, sim):
    roots, san = hpvm_pr_pool
    res = ok(osvc(roots["node1"], "-s", "vm188", "migrate", "--to", "node2"))
    records = last_action(roots["node1"], "vm188", "migrate")
    moves = [m[:2] for m in transitions_of(records)]
    # the probe saw the VM the engine never started (journaled first); prstop; the move; stopfs here
    # (the vmdg, and the already released companion again: stopfs includes the disks, docs/agent-reference.md §5.11)
    assert moves == [("container#1", "observed_up"), ("", "migrate"),
                     ("container#1pr", "stop"), ("container#1pr", "stopped"),
                     ("container#1", "migrate"), ("container#1", "stopped"),
                     ("vmdg#container#1", "stop"), ("vmdg#container#1", "stopped"),
                     ("container#1pr", "stop"), ("container#1pr", "stopped"), ("", "stopped")]
    remote = [r["payload"]["argv"][3:] for r in records
              if r["kind"] == "command" and r["payload"]["argv"][0].endswith("osvc-engine")]
    assert remote == [["startfs", "--master"], ["prstart", "--master"], ["status", "--refresh"]]
    assert san.show("/dev/sdb")["registrations"] == {"node2": 0x2b}
    assert sim.show("hpvm", "vm188")["node"] == "node2"
    assert "scsi reservations were dropped" not in res.stdout


def test_failed_migrate_after_prstop_says_the_reservations_were_dropped(hpvm_pr_pool, sim):
    roots, san = hpvm_pr_pool
    (roots["node2"] / "etc" / "vm188.env").unlink()       # the destination does not know the service
    res = osvc(roots["node1"], "-s", "vm188", "migrate", "--to", "node2")
    assert res.returncode == 1
    assert ("scsi reservations were dropped. you have to acquire them now using the 'prstart' action either on "
            "source node or destination node, depending on your problem analysis.") in res.stdout
    assert "startfs --master on node node2 failed (rc 4)" in res.stderr
    assert san.show("/dev/sdb")["registrations"] == {}
    assert sim.show("hpvm", "vm188")["node"] == "node1"


def with_loop_disks(roots, loop_image, fs_extra=""):
    """A loop disk and an ext4 filesystem per node, in ovmguest1: node -> its image. Each node has
    its own image (both nodes are this host)."""
    images = {"node1": loop_image, "node2": loop_image.parent / "disk2.img"}
    with open(images["node2"], "wb") as f:
        f.truncate(32 * 1024 * 1024)
    for node, root in roots.items():
        subprocess.run(["mkfs.ext4", "-q", "-F", str(images[node])], check=True)
        with open(root / "etc" / "ovmguest1.env", "a") as fh:
            fh.write(f"\n[disk#1]\ntype = loop\nfile = {images[node]}\n\n"
                     f"[fs#1]\ntype = ext4\ndev = {{disk#1.file}}\nmnt = {images[node].parent / node}\n{fs_extra}")
    return images


def test_failed_migrate_gives_back_the_destination_disks(ovm_pool, sim, loop_image):
    """With a loop disk and an ext4 filesystem: the destination's startfs attaches and mounts them
    there, the live migration fails with the guest still up here, and the destination gives them
    back. The commands run inside `ip netns exec`, which has its own mount namespace: the loop
    devices, global, are the side effect seen."""
    from tests.helpers.loop import cleanup_image

    roots, run = ovm_pool
    images = with_loop_disks(roots, loop_image)
    try:
        ok(run("node1", "start"))
        sim.vmsim("fail", "ovm", "ovmguest1", "migrate=fail")
        assert run("node1", "migrate", "--to", "node2").returncode == 1
        assert len(attached(images["node1"])) == 1 and attached(images["node2"]) == []
        node2 = [(rid, event) for rid, event, _, _ in transitions(roots["node2"], "ovmguest1") if rid]
        assert node2 == [("disk#1", "start"), ("disk#1", "started"), ("fs#1", "start"), ("fs#1", "started"),
                         ("fs#1", "stop"), ("fs#1", "stopped"), ("disk#1", "stop"), ("disk#1", "stopped")]
    finally:
        cleanup_image(images["node2"])


def test_failed_migrate_says_when_the_destination_keeps_the_disks(ovm_pool, sim, loop_image):
    """The destination's stopfs fails too (a blocking_pre_stop trigger on node2 refuses it): the
    command names the node and what to run there, and node2's disk stays attached."""
    from tests.helpers.loop import cleanup_image

    roots, run = ovm_pool
    images = with_loop_disks(roots, loop_image, fs_extra="blocking_pre_stop@node2 = /bin/false\n")
    try:
        ok(run("node1", "start"))
        sim.vmsim("fail", "ovm", "ovmguest1", "migrate=fail")
        res = run("node1", "migrate", "--to", "node2")
        assert res.returncode == 1
        assert ("stopfs --master on node node2 failed (rc 1): the service's disks and filesystems may still "
                "be active there while it runs on node1; run 'osvc-engine -s ovmguest1 stopfs' on node node2"
                ) in res.stdout + res.stderr
        assert len(attached(images["node1"])) == 1 and len(attached(images["node2"])) == 1
        node2 = [(rid, event) for rid, event, _, _ in transitions(roots["node2"], "ovmguest1") if rid]
        assert node2[-2:] == [("fs#1", "stop"), ("fs#1", "stop_failed")]
    finally:
        cleanup_image(images["node2"])


def test_a_migration_is_one_action_on_both_nodes_and_one_cluster_audit_entry(ovm_pool, sim):
    """Causality (core.lineage): the destination's startfs and status run under the migration's id, the
    startfs's begin names its launch record as parent; node1 pulled node2 at the end of the migration."""
    roots, run = ovm_pool
    ok(run("node1", "start"))
    ok(run("node1", "migrate", "--to", "node2"))
    records = last_action(roots["node1"], "ovmguest1", "migrate")
    aid = records[0]["action_id"]
    launches = [r for r in records if r["event"] == "launch"]
    assert [r["payload"] for r in launches] == [
        {"argv": ["osvc-engine", "-s", "ovmguest1", "startfs", "--master"], "to": "node2"},
        {"argv": ["osvc-engine", "-s", "ovmguest1", "status", "--refresh"], "to": "node2"}]
    theirs = [r for r in journal_rows(roots["node2"]) if r["action_id"] == aid]
    begin = next(r for r in theirs if r["event"] == "begin")
    assert (begin["payload"]["action"], begin["payload"]["parent"]["seq"]) == ("startfs", launches[0]["seq"])
    assert all(r["hlc"] > launches[0]["hlc"] for r in theirs)
    audit = ok(osvc(roots["node1"], "journal", "audit", "--cluster", "--no-pull", "--action", aid)).stdout
    heads = [x for x in audit.splitlines() if x.lstrip().startswith("ovmguest1 ")]
    assert [(len(x) - len(x.lstrip()), x.split()[1], x.rsplit(" on ", 1)[1]) for x in heads] == [
        (0, "migrate:", "node1"), (6, "startfs:", "node2")]
