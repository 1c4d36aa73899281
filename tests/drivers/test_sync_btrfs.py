"""sync btrfs for real: two btrfs filesystems on loop devices, one per node root, the nodes talking through
the local transport, sync_all / sync_nodes / sync_drp through the real CLI. The received subvolume, the
snapshots on both sides, the journal's command records, the status and its label are checked.

Every mount lives in a private mount namespace the engine runs in (`nsenter --mount=`): another test's
`ip netns exec` or `unshare` meanwhile would otherwise copy our mounts and keep the loop devices busy.
"""

import datetime
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from domain.service import ServiceSpec
from drivers.base import DriverError
from drivers.sync_btrfs import split_ref
from drivers.transport import SshTransport
from tests.helpers.cli import journal_rows, osvc, write_launcher
from tests.helpers.drivers import make_driver
from tests.helpers.loop import cleanup_image

MISSING = [t for t in ("btrfs", "mkfs.btrfs") if not shutil.which(t)]
needs_btrfs = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} missing (apt-get install btrfs-progs)")
# the state file goes to the peers with rsync, and the service's config sync#i0 runs with sync_all
needs_rsync = pytest.mark.skipif(not shutil.which("rsync"), reason="rsync missing (apt-get install rsync)")
IMAGE_SIZE = 128 * 1024 * 1024        # mkfs.btrfs refuses less than ~110 MiB with its default profiles


def kernel_has_btrfs() -> bool:
    with open("/proc/filesystems") as f:
        return any(line.split()[-1] == "btrfs" for line in f if line.strip())


class Pool:
    """Node roots node1, node2 on this machine (local transport), a btrfs image per node, a mount namespace."""

    def __init__(self, base: Path, ns: Path):
        self.base, self.ns = base, ns
        self.roots = {n: base / n for n in ("node1", "node2")}
        self.images = {}
        for root in self.roots.values():
            for sub in ("etc", "var", "log"):
                (root / sub).mkdir(parents=True)
            (root / "etc" / "node.conf").write_text(
                "[transport]\nkind = local\n\n[roots]\n" + "".join(f"{n} = {r}\n" for n, r in self.roots.items()))

    def sh(self, *argv, input=None) -> str:
        """A command in the namespace (where the filesystems are mounted); its stdout."""
        res = subprocess.run(["nsenter", f"--mount={self.ns}", *map(str, argv)], input=input, text=True,
                             capture_output=True, check=False)
        assert res.returncode == 0, f"{argv}: {res.stderr}"
        return res.stdout

    def mkfs(self, node, label) -> Path:
        image = self.base / f"{node}.img"
        with open(image, "wb") as f:
            f.truncate(IMAGE_SIZE)
        subprocess.run(["mkfs.btrfs", "-q", "-L", label, str(image)], check=True, capture_output=True)
        self.images[node] = image
        return image

    def mount(self, node, label) -> Path:
        """The node's btrfs top level on <var>/btrfs/<label>, as the driver wants it."""
        dev = subprocess.run(["losetup", "-f", "--show", "--", str(self.images[node])], check=True,
                             capture_output=True, text=True).stdout.strip()
        mnt = self.root_of(node, label)
        mnt.mkdir(parents=True)
        self.sh("mount", "-t", "btrfs", "-o", "subvolid=0", "--", dev, mnt)
        return mnt

    def root_of(self, node, label) -> Path:
        return self.roots[node] / "var" / "btrfs" / label

    def subvols(self, node, label) -> list[str]:
        out = self.sh("btrfs", "subvolume", "list", "-p", self.root_of(node, label))
        return sorted(line[line.index(" path ") + 6:] for line in out.splitlines())

    def readonly(self, path) -> bool:
        return self.sh("btrfs", "property", "get", "-ts", path, "ro").strip() == "ro=true"

    def osvc(self, node, *args):
        return osvc(self.roots[node], *args, node=node, wrap=("nsenter", f"--mount={self.ns}"))

    def commands(self, node, rid) -> list:
        return [r["payload"] for r in journal_rows(self.roots[node], svc="deb1", kind="command") if r["rid"] == rid]


@pytest.fixture
def pool(tmp_path):
    if not kernel_has_btrfs():
        pytest.skip("this kernel has no btrfs (/proc/filesystems)")
    holder = tmp_path / "mntns"
    holder.mkdir()
    subprocess.run(["mount", "--bind", str(holder), str(holder)], check=True)
    subprocess.run(["mount", "--make-private", str(holder)], check=True)
    ns = holder / "ns"
    ns.touch()
    subprocess.run(["unshare", f"--mount={ns}", "--propagation", "private", "true"], check=True)
    p = Pool(tmp_path / "pool", ns)
    try:
        yield p
    finally:
        # the namespace goes with its mounts; then the loop devices can be detached
        subprocess.run(["umount", str(ns)], capture_output=True, check=False)
        subprocess.run(["umount", str(holder)], capture_output=True, check=False)
        for image in p.images.values():
            cleanup_image(image)


def service_env(state, sync, default="nodes = node1 node2\n"):
    """deb1: an app (so the service is up where it was started) and the sync section."""
    return (f"[DEFAULT]\n{default}\n"
            "[app#1]\nscript = a\nstart = 10\nstop = 10\ncheck = 10\n\n"
            f"[sync#1]\ntype = btrfs\n{sync}")


def app_launcher(root, state):
    write_launcher(root / "etc" / "deb1.d" / "a",
                   f'case "$1" in start) touch {state};; stop) rm -f {state};; status) [ -e {state} ];; esac')


def seed(pool):
    """The seed's deb1 on node1 (not started): both filesystems labelled deb1, mounted beforehand (two
    devices of one label on one machine: a mount by label would be ambiguous), the subvolume deb1 holding
    data.txt, [sync#1] deb1:deb1 to nodes. Returns both roots."""
    for node in ("node1", "node2"):
        pool.mkfs(node, "deb1")
        pool.mount(node, "deb1")
    r1, r2 = pool.root_of("node1", "deb1"), pool.root_of("node2", "deb1")
    pool.sh("btrfs", "subvolume", "create", r1 / "deb1")
    pool.sh("tee", r1 / "deb1" / "data.txt", input="first\n")
    state = pool.base / "app.state"
    app_launcher(pool.roots["node1"], state)
    (pool.roots["node1"] / "etc" / "deb1.env").write_text(
        service_env(state, "src = deb1:deb1\ndst = deb1:deb1\ntarget = nodes\n"))
    return r1, r2


@pytest.mark.root
@needs_btrfs
@needs_rsync
def test_sync_all_then_incremental_sync_nodes(pool):
    """The seed's sync#1: deb1:deb1 to ['nodes']."""
    r1, r2 = seed(pool)

    # not up here: refused, nothing sent
    res = pool.osvc("node1", "-s", "deb1", "sync_all")
    assert res.returncode == 0, res.stderr
    assert "won't sync this resource for a service not up" in res.stdout + res.stderr
    assert pool.subvols("node1", "deb1") == ["deb1"] and pool.subvols("node2", "deb1") == []
    assert pool.commands("node1", "sync#1") == []

    assert pool.osvc("node1", "-s", "deb1", "start").returncode == 0
    res = pool.osvc("node1", "-s", "deb1", "sync_all")
    assert res.returncode == 0, res.stdout + res.stderr

    # received on node2: the subvolume installed writable, @sent kept read-only for the next increment
    assert pool.subvols("node2", "deb1") == ["deb1", "deb1@sent"]
    assert pool.sh("cat", r2 / "deb1" / "data.txt") == "first\n"
    assert not pool.readonly(r2 / "deb1") and pool.readonly(r2 / "deb1@sent")
    assert pool.subvols("node1", "deb1") == ["deb1", "deb1@sent"] and pool.readonly(r1 / "deb1@sent")

    spool = pool.roots["node1"] / "var" / "deb1" / "sync" / "sync#1" / "deb1@tosend.stream"
    state1 = pool.roots["node1"] / "var" / "deb1_sync#1_btrfs_state"
    state2 = pool.roots["node2"] / "var" / "deb1_sync#1_btrfs_state"
    records = pool.commands("node1", "sync#1")
    assert [r["argv"] for r in records] == [
        ["btrfs", "subvolume", "snapshot", "-r", "--", f"{r1}/deb1", f"{r1}/deb1@tosend"],
        ["btrfs", "send", "-f", str(spool), "--", f"{r1}/deb1@tosend"],
        ["btrfs", "receive", "--", str(r2)],
        ["mv", "--", f"{r2}/deb1@tosend", f"{r2}/deb1@sent"],
        ["btrfs", "subvolume", "snapshot", "--", f"{r2}/deb1@sent", f"{r2}/deb1"],
        ["mv", "--", f"{r1}/deb1@tosend", f"{r1}/deb1@sent"],
        ["rsync", "-t", "--", str(state1), str(state2)],
    ]
    assert all(r["rc"] == 0 for r in records)
    assert "At subvol deb1@tosend" in records[2]["err_tail"]      # what receive said, journaled with it
    assert not spool.exists()
    date, gen = state1.read_text().strip().split(";")
    assert state2.read_text() == state1.read_text() and gen.isdigit()
    assert abs(datetime.datetime.strptime(date, "%Y-%m-%d %H:%M:%S.%f") - datetime.datetime.now()).days == 0

    res = pool.osvc("node1", "-s", "deb1", "print", "status")
    assert res.stdout == (
        "deb1\n"
        "overall                   up\n"
        "|- avail                  up\n"
        "|  '- app#1          .... up       a\n"
        "|- sync                   up\n"
        "|  |- sync#i0        .... up       rsync svc config to drpnodes, nodes\n"
        "|  '- sync#1         .... up       btrfs of deb1:deb1 to ['nodes']\n"      # the seed's line (design.md §4)
        "'- hb                     n/a\n")
    # node2, passive, judges the state file it received (as the agent does)
    res = pool.osvc("node2", "-s", "deb1", "print", "status")
    assert "|  '- sync#1         .... up       btrfs of deb1:deb1 to ['nodes']\n" in res.stdout

    # second sync: incremental on @sent, the destination replaced by the new content
    pool.sh("tee", r1 / "deb1" / "more.txt", input="second\n")
    n = len(records)
    res = pool.osvc("node1", "-s", "deb1", "sync_nodes")
    assert res.returncode == 0, res.stdout + res.stderr
    assert pool.sh("cat", r2 / "deb1" / "more.txt") == "second\n"
    assert pool.subvols("node2", "deb1") == ["deb1", "deb1@sent"]
    assert [r["argv"] for r in pool.commands("node1", "sync#1")[n:]] == [
        ["btrfs", "subvolume", "snapshot", "-r", "--", f"{r1}/deb1", f"{r1}/deb1@tosend"],
        ["btrfs", "send", "-f", str(spool), "-c", f"{r1}/deb1@sent", "-p", f"{r1}/deb1@sent", "--",
         f"{r1}/deb1@tosend"],
        ["btrfs", "receive", "--", str(r2)],
        ["btrfs", "subvolume", "delete", "--", f"{r2}/deb1@sent"],
        ["mv", "--", f"{r2}/deb1@tosend", f"{r2}/deb1@sent"],
        ["btrfs", "subvolume", "delete", "--", f"{r2}/deb1"],
        ["btrfs", "subvolume", "snapshot", "--", f"{r2}/deb1@sent", f"{r2}/deb1"],
        ["btrfs", "subvolume", "delete", "--", f"{r1}/deb1@sent"],
        ["mv", "--", f"{r1}/deb1@tosend", f"{r1}/deb1@sent"],
        ["rsync", "-t", "--", str(state1), str(state2)],
    ]

    # a last sync older than sync_max_delay (1440 minutes): warn, overall warn
    old = datetime.datetime.now() - datetime.timedelta(days=2)
    state1.write_text(f"{old:%Y-%m-%d %H:%M:%S.%f};{gen}\n")
    res = pool.osvc("node1", "-s", "deb1", "print", "status", "--refresh")     # not the status of the last action
    assert res.stdout.splitlines()[1] == "overall                   warn"
    assert res.stdout.endswith(
        "|  '- sync#1         .... warn     btrfs of deb1:deb1 to ['nodes']\n"     # the log line wraps at 78
        f"|                                  # Last sync on {old}\n"
        "|                                    older than 1440 minutes\n"
        "'- hb                     n/a\n")


@pytest.mark.root
@needs_btrfs
@needs_rsync
def test_sync_drp_mounts_the_labels_and_installs_a_nested_destination(pool):
    """Nothing mounted beforehand: the driver mounts each label's top level on <var>/btrfs/<label> (here and
    on the peer). The target words print as a list; sync_nodes has no peer (node1 is the only node)."""
    src_label, dst_label = f"s{secrets.token_hex(4)}", f"d{secrets.token_hex(4)}"   # unique: mounted by label
    pool.mkfs("node1", src_label)
    pool.mkfs("node2", dst_label)
    for node in ("node1", "node2"):      # attach only: the driver mounts
        subprocess.run(["losetup", "-f", "--", str(pool.images[node])], check=True)
    tmp = pool.base / "seed"
    tmp.mkdir()
    dev1 = subprocess.run(["losetup", "-j", str(pool.images["node1"])], capture_output=True, text=True,
                          check=True).stdout.split(":")[0]
    pool.sh("mount", "-t", "btrfs", "--", dev1, tmp)
    pool.sh("mkdir", tmp / "vol")
    pool.sh("btrfs", "subvolume", "create", tmp / "vol" / "a")
    pool.sh("tee", tmp / "vol" / "a" / "f", input="nested\n")
    pool.sh("umount", tmp)
    state = pool.base / "app.state"
    app_launcher(pool.roots["node1"], state)
    (pool.roots["node1"] / "etc" / "deb1.env").write_text(service_env(
        state, f"src = {src_label}:vol/a\ndst = {dst_label}:data/copy\ntarget = nodes drpnodes\n",
        default="nodes = node1\ndrpnodes = node2\n"))
    assert pool.osvc("node1", "-s", "deb1", "start").returncode == 0

    res = pool.osvc("node1", "-s", "deb1", "sync_nodes")
    assert res.returncode == 0 and "no destination nodes" in res.stdout + res.stderr
    assert pool.commands("node1", "sync#1") == []
    res = pool.osvc("node1", "-s", "deb1", "sync_drp")
    assert res.returncode == 0, res.stdout + res.stderr

    r1, r2 = pool.root_of("node1", src_label), pool.root_of("node2", dst_label)
    argvs = [r["argv"] for r in pool.commands("node1", "sync#1")]
    assert argvs[:3] == [
        ["mkdir", "-p", "--", str(r1)],
        ["mount", "-t", "btrfs", "-o", "subvolid=0", "--", f"LABEL={src_label}", str(r1)],
        ["btrfs", "subvolume", "snapshot", "-r", "--", f"{r1}/vol/a", f"{r1}/vol_a@tosend"],
    ]
    assert argvs[3:5] == [["mkdir", "-p", "--", str(r2)],
                          ["mount", "-t", "btrfs", "-o", "subvolid=0", "--", f"LABEL={dst_label}", str(r2)]]
    assert ["mkdir", "-p", "--", f"{r2}/data"] in argvs
    assert pool.subvols("node2", dst_label) == ["data/copy", "vol_a@sent"]
    assert pool.sh("cat", r2 / "data" / "copy" / "f") == "nested\n"
    res = pool.osvc("node1", "-s", "deb1", "print", "status")
    assert f"|  '- sync#1         .... up       btrfs of {src_label}:vol/a to ['nodes', 'drpnodes']\n" in res.stdout

    # a filesystem of another label on the root: refused before anything is sent
    pool.sh("umount", r2)
    pool.sh("mount", "-t", "btrfs", "-o", "subvolid=0", "--", dev1, r2)
    n = len(argvs)
    res = pool.osvc("node1", "-s", "deb1", "sync_drp")
    assert res.returncode != 0
    assert f"wrong fs mounted in {r2} on node node2: {src_label}, expected {dst_label}" in res.stdout + res.stderr
    # only the snapshot here was taken (before the peers, as the agent does); nothing ran on node2
    argvs = [r["argv"] for r in pool.commands("node1", "sync#1")]
    assert argvs[n:] == [["btrfs", "subvolume", "snapshot", "-r", "--", f"{r1}/vol/a", f"{r1}/vol_a@tosend"]]

    # the right filesystem back (the driver mounts it): the next sync sends that @tosend, on @sent
    pool.sh("umount", r2)
    res = pool.osvc("node1", "-s", "deb1", "sync_drp")
    assert res.returncode == 0, res.stdout + res.stderr
    spool = pool.roots["node1"] / "var" / "deb1" / "sync" / "sync#1" / "vol_a@tosend.stream"
    assert [r["argv"] for r in pool.commands("node1", "sync#1")][n + 1:] == [
        ["mkdir", "-p", "--", str(r2)],
        ["mount", "-t", "btrfs", "-o", "subvolid=0", "--", f"LABEL={dst_label}", str(r2)],
        ["btrfs", "send", "-f", str(spool), "-c", f"{r1}/vol_a@sent", "-p", f"{r1}/vol_a@sent", "--",
         f"{r1}/vol_a@tosend"],
        ["btrfs", "receive", "--", str(r2)],
        ["btrfs", "subvolume", "delete", "--", f"{r2}/vol_a@sent"],
        ["mv", "--", f"{r2}/vol_a@tosend", f"{r2}/vol_a@sent"],
        ["btrfs", "subvolume", "delete", "--", f"{r2}/data/copy"],
        ["mkdir", "-p", "--", f"{r2}/data"],
        ["btrfs", "subvolume", "snapshot", "--", f"{r2}/vol_a@sent", f"{r2}/data/copy"],
        ["btrfs", "subvolume", "delete", "--", f"{r1}/vol_a@sent"],
        ["mv", "--", f"{r1}/vol_a@tosend", f"{r1}/vol_a@sent"],
        ["rsync", "-t", "--", str(pool.roots["node1"] / "var" / "deb1_sync#1_btrfs_state"),
         str(pool.roots["node2"] / "var" / "deb1_sync#1_btrfs_state")],
    ]
    assert pool.subvols("node2", dst_label) == ["data/copy", "vol_a@sent"]


@pytest.mark.root
@needs_btrfs
@needs_rsync
def test_a_failed_receive_stops_the_sync_with_its_error(pool):
    """node2's @sent replaced by an unrelated snapshot: the incremental stream finds no parent there. The
    receive's record keeps its rc and stderr, the action fails, nothing rotates here, the state stays."""
    _, r2 = seed(pool)
    assert pool.osvc("node1", "-s", "deb1", "start").returncode == 0
    assert pool.osvc("node1", "-s", "deb1", "sync_all").returncode == 0
    state1 = pool.roots["node1"] / "var" / "deb1_sync#1_btrfs_state"
    before = state1.read_text()
    pool.sh("btrfs", "subvolume", "delete", r2 / "deb1@sent")
    pool.sh("btrfs", "subvolume", "create", r2 / "other")
    pool.sh("btrfs", "subvolume", "snapshot", "-r", r2 / "other", r2 / "deb1@sent")
    n = len(pool.commands("node1", "sync#1"))

    res = pool.osvc("node1", "-s", "deb1", "sync_nodes")
    assert res.returncode == 1, res.stdout + res.stderr
    out = res.stdout + res.stderr
    assert f"btrfs receive -- {r2} failed (rc 1): ERROR: cannot find parent subvolume" in out
    assert "sync_nodes failed on sync#1" in out
    records = pool.commands("node1", "sync#1")[n:]
    assert [(r["argv"][:2], r["rc"]) for r in records] == [
        (["btrfs", "subvolume"], 0), (["btrfs", "send"], 0), (["btrfs", "receive"], 1)]
    assert "cannot find parent subvolume" in records[-1]["err_tail"]
    assert records[-1]["tolerated"] is False          # the runner raised: the sync stopped there
    # here: @tosend kept for the next sync, @sent untouched; the state file says the last good sync
    assert pool.subvols("node1", "deb1") == ["deb1", "deb1@sent", "deb1@tosend"]
    assert state1.read_text() == before
    assert not (pool.roots["node1"] / "var" / "deb1" / "sync" / "sync#1" / "deb1@tosend.stream").exists()


# --- without btrfs: names, label, status, refusals -------------------------------------------------------
def spec_of(node, nodes=("node1", "node2"), drpnodes=()):
    return ServiceSpec(name="deb1", nodename=node.name, path=node.root / "etc" / "deb1.env", text="", digest="",
                       default={"nodes": list(nodes), "drpnodes": list(drpnodes)})


def test_label_and_status_without_a_sync(node):
    conf = {"src": "deb1:deb1", "dst": "deb1:deb1", "target": ["nodes"]}
    drv, _, _ = make_driver(node, "sync", "btrfs", conf, svc="deb1", spec=spec_of(node))
    assert drv.label() == "btrfs of deb1:deb1 to ['nodes']"
    assert drv.status() == ("warn", ["btrfs state file not found"])
    both, _, _ = make_driver(node, "sync", "btrfs", {**conf, "target": "nodes drpnodes"}, svc="deb1", spec=spec_of(node))
    assert both.label() == "btrfs of deb1:deb1 to ['nodes', 'drpnodes']"
    alone, _, events = make_driver(node, "sync", "btrfs", conf, svc="deb1", spec=spec_of(node, nodes=("node1",)))
    assert alone.status() == ("n/a", ["no destination nodes"])
    assert alone.sync_all() == [] and events == []
    # a passive node does not push (unless --force): nothing runs
    passive, log, events = make_driver(node, "sync", "btrfs", conf, svc="deb1", spec=spec_of(node), service_avail="down")
    assert passive.sync_nodes() == [] and events == []
    assert log.messages() == ["won't sync this resource for a service not up"]


def test_status_reads_the_state_file(node):
    conf = {"src": "deb1:deb1", "dst": "deb1:deb1", "target": ["nodes"], "sync_max_delay": 30}
    drv, _, _ = make_driver(node, "sync", "btrfs", conf, svc="deb1", spec=spec_of(node))
    path = node.var / "deb1_sync#1_btrfs_state"
    now = datetime.datetime.now()
    path.write_text(f"{now - datetime.timedelta(minutes=10):%Y-%m-%d %H:%M:%S.%f};12\n")
    assert drv.status() == ("up", [])
    old = now - datetime.timedelta(minutes=31)
    path.write_text(f"{old:%Y-%m-%d %H:%M:%S.%f};12\n")
    assert drv.status() == ("warn", [f"Last sync on {old} older than 30 minutes"])
    path.write_text("garbage\n")
    assert drv.status() == ("warn", [f"{path} is corrupted"])


@pytest.mark.parametrize("value", ["deb1", "deb1:", ":deb1", "deb1:/abs", "deb1:../x", "deb1:a/../b",
                                   "de/b1:x", "..:x", "deb1:a/"])
def test_malformed_src_is_refused(node, value):
    with pytest.raises(DriverError, match=f"malformed src value '{value}'"):
        split_ref(value)
    conf = {"src": value, "dst": "deb1:deb1", "target": ["nodes"]}
    drv, _, events = make_driver(node, "sync", "btrfs", conf, svc="deb1", spec=spec_of(node))
    assert drv.status()[0] == "n/a"
    with pytest.raises(DriverError, match="malformed src value"):
        drv.sync_nodes()
    assert events == []


def test_split_ref():
    assert split_ref("deb1:deb1") == ("deb1", "deb1")
    assert split_ref("data:vols/web") == ("data", "vols/web")


def test_recursive_is_refused_before_any_command(node):
    conf = {"src": "deb1:deb1", "dst": "deb1:deb1", "target": ["nodes"], "recursive": True}
    drv, _, events = make_driver(node, "sync", "btrfs", conf, svc="deb1", spec=spec_of(node))
    with pytest.raises(DriverError, match="recursive = true is not supported"):
        drv.sync_all()
    assert events == []


def test_ssh_feeds_the_stream_to_the_remote_receive():
    """ssh -n reads /dev/null: a command fed a stream (btrfs receive) runs without it."""
    ssh = SshTransport(ssh=["ssh"])
    assert ssh.command("hv2", ["btrfs", "receive", "--", "/r"], stdin=True)[0] == [
        "ssh", "--", "hv2", "btrfs receive -- /r"]
    assert ssh.command("hv2", ["true"])[0] == ["ssh", "-n", "--", "hv2", "true"]
    seen = []
    with open(os.devnull, "rb") as feed:
        ssh.run(lambda argv, **kw: seen.append(argv), "hv2", ["btrfs", "receive", "/r"], input=feed)
    assert seen == [["ssh", "--", "hv2", "btrfs receive /r"]]


def test_registered_as_a_sync_with_the_sync_actions():
    from drivers.registry import driver_class

    cls = driver_class("sync", "btrfs")
    assert cls.__name__ == "SyncBtrfs" and cls.family == "sync"
    assert all(cls.supports(c) for c in ("sync_nodes", "sync_drp", "sync_all", "start", "stop", "status"))
    assert not cls.supports("presync") and not cls.supports("postsync")


def test_sync_rows_in_the_1_5_type_order_internal_first():
    """As the agent printed them: rsync (sync#i0 first), ..., zfs, btrfs, then types 1.5 did not know;
    config order within a type. The seed's btrfs sync#1 is then the group's last row (design.md §4)."""
    from domain.render import render
    from domain.status import aggregate

    def res(rid, type_, label):
        return {"rid": rid, "type": type_, "status": "up", "label": label, "log": [], "monitor": False,
                "disable": False, "optional": False, "encap": False, "tags": [], "state": "up"}

    doc = aggregate([res("sync#1", "sync.btrfs", "btrfs of deb1:deb1 to ['nodes']"),
                     res("sync#4", "sync.s3", "s3"), res("sync#2", "sync.rsync", "rsync /a to nodes"),
                     res("sync#3", "sync.zfs", "zfs"), res("sync#5", "sync.rsync", "rsync /b to nodes"),
                     res("sync#i0", "sync.rsync", "rsync svc config to drpnodes, nodes")],
                    None, svcname="deb1", nodename="node1", frozen=False, updated="2024-05-06T07:08:09.123456Z")
    rows = [line.split()[2] for line in render(doc).splitlines() if line.startswith("|  ")]
    assert rows == ["sync#i0", "sync#2", "sync#5", "sync#3", "sync#1", "sync#4"]
