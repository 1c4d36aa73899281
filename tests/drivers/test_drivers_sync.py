"""sync rsync between two local node roots through LocalTransport, and the transports' commands."""

import shutil
import time
import types
from pathlib import Path

import pytest

from domain.service import ResourceSpec, ServiceSpec
from core.node import Node
from drivers.transport import LocalTransport, SshTransport
from tests.helpers.drivers import make_driver

pytestmark = pytest.mark.skipif(not shutil.which("rsync"), reason="rsync missing (apt-get install rsync)")


@pytest.fixture
def cluster(tmp_path):
    """node1 (local) and node2 roots, a spec with nodes = node1 node2, a LocalTransport."""
    roots = {}
    for name in ("node1", "node2"):
        roots[name] = tmp_path / name
        for sub in ("etc", "var", "log"):
            (roots[name] / sub).mkdir(parents=True)
    spec = ServiceSpec(name="svc1", nodename="node1", path=roots["node1"] / "etc" / "svc1.env",
                       text="", digest="", default={"nodes": ["node1", "node2"], "drpnodes": []})
    return Node(roots["node1"], "node1"), spec, LocalTransport(roots), roots


def test_rsync_to_peer_and_status(cluster, tmp_path):
    node, spec, transport, roots = cluster
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("A")
    (data / "b.txt").write_text("B")
    conf = {"src": [str(data / "*.txt")], "dst": "/srv/data/", "target": ["nodes"]}
    sync, log, events = make_driver(node, "sync", "rsync", conf, spec=spec,
                                    transport=transport)
    assert sync.label() == f"rsync {data}/*.txt to nodes"
    assert sync.peers() == ["node2"]
    assert sync.status() == ("down", ["node2 need update"])
    sync.sync_nodes()
    copied = roots["node2"] / "fs" / "srv" / "data"
    assert sorted(p.name for p in copied.iterdir()) == ["a.txt", "b.txt"]
    assert (copied / "a.txt").read_text() == "A"
    argv = events[0]["payload"]["argv"]
    assert argv == ["rsync", "-HpogDtrlx", "--numeric-ids", "--", str(data / "a.txt"), str(data / "b.txt"),
                    f"{copied}/"]
    assert sync.status() == ("up", [])
    # the peer holds the stamp of what it received
    peer_stamp = roots["node2"] / "var" / "svc1" / "sync" / "sync#1" / "node2"
    assert abs(float(peer_stamp.read_text()) - time.time()) < 3600
    # sync_drp does nothing for a nodes-only target
    n = len(events)
    sync.sync_drp()
    assert len(events) == n


def test_bwlimit_resource_over_default(cluster, tmp_path):
    """rsync gets --bwlimit (KB/s) from the resource's bwlimit, else DEFAULT's; the copy still happens."""
    node, spec, transport, roots = cluster
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("A")
    spec.default["bwlimit"] = 500
    argvs = []
    for conf in ({}, {"bwlimit": 100, "options": ["--checksum"]}):
        conf = {"src": [str(data / "a.txt")], "dst": "/srv/data/", "target": ["nodes"], **conf}
        sync, _, events = make_driver(node, "sync", "rsync", conf, spec=spec, transport=transport)
        sync.sync_nodes()
        argvs.append(events[0]["payload"]["argv"][1:-3])
    assert argvs == [["-HpogDtrlx", "--numeric-ids", "--bwlimit=500"],
                     ["-HpogDtrlx", "--numeric-ids", "--bwlimit=100", "--checksum"]]
    assert (roots["node2"] / "fs" / "srv" / "data" / "a.txt").read_text() == "A"


def test_stale_sync_and_passive_node(cluster, tmp_path):
    node, spec, transport, roots = cluster
    (tmp_path / "f").write_text("x")
    conf = {"src": str(tmp_path / "f"), "dst": "/srv/", "target": "nodes", "sync_max_delay": 1}
    sync, _, _ = make_driver(node, "sync", "rsync", conf, spec=spec, transport=transport)
    sync.sync_nodes()
    stamp = node.svc_var("svc1") / "sync" / "sync#1" / "node2"
    old = time.time() - 120
    stamp.write_text(f"{old}\n")
    assert sync.status() == ("down", ["node2 need update"])
    # node2 is passive (service not up there): it judges the copy it received
    node2 = Node(roots["node2"], "node2")
    spec2 = ServiceSpec(name="svc1", nodename="node2", path=roots["node2"] / "etc/svc1.env", text="",
                        digest="", default=spec.default)
    passive, _, _ = make_driver(node2, "sync", "rsync", conf, spec=spec2,
                                transport=transport, service_avail="down")
    assert passive.status() == ("up", [])
    (roots["node2"] / "var/svc1/sync/sync#1/node2").write_text(f"{old}\n")
    assert passive.status() == ("warn", ["passive node needs update"])
    # and a passive node refuses to push, unless forced
    pusher, log, events = make_driver(node2, "sync", "rsync", conf, spec=spec2,
                                      transport=transport, service_avail="down")
    pusher.sync_nodes()
    assert log.lines == [("INFO", "won't sync this resource for a service not up")] and events == []


def test_no_destination_nodes(node):
    spec = ServiceSpec(name="svc1", nodename="node1", path=Path("/x"), text="", digest="",
                       default={"nodes": ["node1"], "drpnodes": []})
    sync, _, _ = make_driver(node, "sync", "rsync", {"src": "/etc/hostname", "dst": "/x",
                                                     "target": ["nodes", "drpnodes"]}, spec=spec)
    assert sync.status() == ("n/a", ["no destination nodes"])
    assert sync.label() == "rsync /etc/hostname to nodes, drpnodes"


def test_internal_config_sync(cluster):
    node, spec, transport, roots = cluster
    spec.default["drpnodes"] = ["node2"]
    (roots["node1"] / "etc" / "svc1.env").write_text("[DEFAULT]\nnodes = node1 node2\n")
    launchers = roots["node1"] / "etc" / "svc1.d"
    launchers.mkdir()
    (launchers / "S10app").write_text("#!/bin/sh\n")
    (launchers / "core.core").write_text("dump")
    sync, _, events = make_driver(node, "sync", "rsync", {"internal": True}, rid="sync#i0", spec=spec,
                                  transport=transport)
    assert sync.label() == "rsync svc config to drpnodes, nodes"
    sync.sync_all()
    peer_etc = roots["node2"] / "etc"
    assert (peer_etc / "svc1.env").read_text() == "[DEFAULT]\nnodes = node1 node2\n"
    assert (peer_etc / "svc1.d" / "S10app").exists()
    assert not (peer_etc / "svc1.d" / "core.core").exists()
    assert "--exclude=*.core" in events[0]["payload"]["argv"]
    assert sync.status() == ("up", [])


def test_internal_sync_carries_the_containers_files_to_the_same_path(cluster):
    """sync#i0 also copies each container's files_to_sync() (here the libvirt XML of a kvm VM) to
    where the peer keeps that path; a disabled container, or one whose file is absent, adds nothing."""
    node, spec, transport, roots = cluster
    for name in ("node1", "node2"):
        (roots[name] / "etc" / "node.conf").write_text(
            f"[paths]\nlibvirt = {roots[name]}/etc/libvirt/qemu\n")
    qemu = roots["node1"] / "etc" / "libvirt" / "qemu"
    qemu.mkdir(parents=True)
    (qemu / "vm1.xml").write_text("<domain><name>vm1</name></domain>")
    (qemu / "vm3.xml").write_text("<domain><name>vm3</name></domain>")
    (roots["node1"] / "etc" / "svc1.env").write_text("[DEFAULT]\nnodes = node1 node2\n")
    spec.resources = [
        ResourceSpec(rid="container#1", family="container", type="kvm", conf={"name": "vm1"}),
        ResourceSpec(rid="container#2", family="container", type="kvm", conf={"name": "vm2"}),   # no XML
        ResourceSpec(rid="container#3", family="container", type="kvm", conf={"name": "vm3"}, disabled=True),
    ]
    sync, _, events = make_driver(node, "sync", "rsync", {"internal": True}, rid="sync#i0", spec=spec,
                                  transport=transport)
    sync.sync_nodes()
    peer_qemu = roots["node2"] / "etc" / "libvirt" / "qemu"
    assert sorted(p.name for p in peer_qemu.iterdir()) == ["vm1.xml"]
    assert (peer_qemu / "vm1.xml").read_text() == "<domain><name>vm1</name></domain>"
    assert [e["payload"]["argv"][-2:] for e in events if e["payload"]["argv"][0] == "rsync"][:2] == [
        [str(roots["node1"] / "etc" / "svc1.env"), f"{roots['node2'] / 'etc'}/"],
        [str(qemu / "vm1.xml"), str(peer_qemu / "vm1.xml")]]
    assert (roots["node2"] / "etc" / "svc1.env").exists()


@pytest.mark.root            # mounts a tmpfs
def test_dstfs_must_be_mounted_on_the_peer(cluster, tmp_path):
    """dstfs names the peer's filesystem the copy goes into: while it is not mounted there, the sync
    refuses (the copy would fill its parent filesystem); once a real tmpfs is mounted there, it copies."""
    import subprocess

    from drivers.base import DriverError

    node, spec, transport, roots = cluster
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("A")
    conf = {"src": [str(data / "a.txt")], "dst": "/srv/data/", "dstfs": "/srv/data", "target": ["nodes"]}
    sync, _, events = make_driver(node, "sync", "rsync", conf, spec=spec, transport=transport)
    mnt = roots["node2"] / "fs" / "srv" / "data"
    mnt.mkdir(parents=True)
    with pytest.raises(DriverError, match="the destination fs /srv/data is not mounted on node node2: refuse to "
                                          "sync /srv/data/ to protect its parent fs"):
        sync.sync_nodes()
    assert list(mnt.iterdir()) == []
    assert [e["payload"]["argv"][0] for e in events] == ["mountpoint"]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    try:
        assert sync.sync_nodes() == ["node2"]
        assert (mnt / "a.txt").read_text() == "A"
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
    assert list(mnt.iterdir()) == []        # what was copied lived on the tmpfs, not in its parent


def test_missing_source_is_named(cluster, tmp_path):
    node, spec, transport, _ = cluster
    sync, _, _ = make_driver(node, "sync", "rsync", {"src": str(tmp_path / "nope*"), "dst": "/x",
                                                     "target": "nodes"},
                             spec=spec, transport=transport)
    with pytest.raises(Exception) as exc:
        sync.sync_nodes()
    assert str(exc.value) == f"{tmp_path}/nope*: no such file (src of sync#1)"


def test_local_transport_runs_the_engine_as_the_peer(cluster):
    node, spec, transport, roots = cluster
    drv, log, events = make_driver(node, "sync", "rsync", {})
    run = drv.ctx.run
    res = transport.run(run, "node2", ["sh", "-c", "echo $OSVC_ROOT $OSVC_NODENAME"], log=log)
    assert res.out == f"{roots['node2']} node2\n"
    assert log.lines[0] == ("INFO", "exec 'sh -c echo $OSVC_ROOT $OSVC_NODENAME' on node node2")
    argv, env = transport.command("node2", ["osvc-engine", "-s", "svc1", "status"])
    assert argv[0].endswith("osvc-engine") and argv[1:] == ["-s", "svc1", "status"]
    assert env == {"OSVC_ROOT": str(roots["node2"]), "OSVC_NODENAME": "node2"}


def test_ssh_transport_commands():
    t = SshTransport()
    assert t.command("node2", ["osvc-engine", "-s", "svc 1", "start"]) == ([
        "ssh", "-q", "-o", "StrictHostKeyChecking=no", "-o", "ForwardX11=no", "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=10", "-n", "--", "node2", "osvc-engine -s 'svc 1' start"], {})
    assert t.rsync_argv("node2", ["/a", "/b"], "/dst/", ["-a"]) == [
        "rsync", "-a", "-e", "ssh -q -o StrictHostKeyChecking=no -o ForwardX11=no -o BatchMode=yes "
        "-o ConnectTimeout=10", "--", "/a", "/b", "node2:/dst/"]
    calls = []
    t.rsync_same_path(lambda argv, **kw: calls.append(argv), "node2", ["/etc/xen/vm1.cfg"], ["-a"])
    assert calls == [["rsync", "-R", "-a", "-e", "ssh -q -o StrictHostKeyChecking=no -o ForwardX11=no "
                      "-o BatchMode=yes -o ConnectTimeout=10", "--", "/etc/xen/vm1.cfg", "node2:/"]]
    probes = []

    def run(argv, **kw):
        probes.append((argv[-2:], kw["check"]))
        return types.SimpleNamespace(rc=0 if argv[-1].endswith(" /") else 1)

    assert (t.is_mountpoint(run, "node2", "/"), t.is_mountpoint(run, "node2", "/srv/data")) == (True, False)
    assert probes == [(["node2", "mountpoint -q -- /"], False), (["node2", "mountpoint -q -- /srv/data"], False)]
