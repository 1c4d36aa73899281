"""sync btrfs over real ssh (tests/helpers/nodes.py: two namespace nodes, a real sshd each): the production
transport, `btrfs receive` on the peer fed the stream through ssh's stdin (no `-n`), the state file copied
with rsync over ssh. Each node mounts its own btrfs (labelled deb1 on both) in its own mount namespace, on
the same path: the driver's root on a peer is the path it names here."""

import shutil
import subprocess

import pytest

from drivers.transport import SSH
from journal.store import Journal
from tests.helpers.loop import cleanup_image
from tests.helpers.nodes import cluster_service, make_nodes

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not shutil.which("mkfs.btrfs"), reason="mkfs.btrfs missing (apt-get install btrfs-progs)"),
    pytest.mark.skipif(not shutil.which("rsync"), reason="rsync missing (apt-get install rsync)"),
]

SYNC = "\n[sync#1]\ntype = btrfs\nsrc = deb1:deb1\ndst = deb1:deb1\ntarget = nodes\n"


def ok(res):
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def commands(node, rid):
    with Journal(node.journal, create=False, readonly=True) as j:
        return [r["payload"] for r in j.read(svc="deb1", kind="command") if r["rid"] == rid]


def test_sync_all_over_ssh(tmp_path):
    images = []
    try:
        with make_nodes(["hv1", "hv2"]) as nodes:
            cluster_service(nodes, svc="deb1", names="a")
            root = f"{nodes.root}/var/btrfs/deb1"
            for name, node in nodes.items():
                env = node.folder / "etc" / "deb1.env"
                env.write_text(env.read_text() + SYNC)
                image = tmp_path / f"{name}.img"
                with open(image, "wb") as f:
                    f.truncate(128 * 1024 * 1024)
                images.append(image)
                subprocess.run(["mkfs.btrfs", "-q", "-L", "deb1", str(image)], check=True, capture_output=True)
                dev = subprocess.run(["losetup", "-f", "--show", "--", str(image)], check=True, capture_output=True,
                                     text=True).stdout.strip()
                (node.folder / "var" / "btrfs" / "deb1").mkdir(parents=True)
                ok(node.run(["mount", "-t", "btrfs", "-o", "subvolid=0", "--", dev, root]))
            hv1, hv2 = nodes["hv1"], nodes["hv2"]
            ok(hv1.run(["btrfs", "subvolume", "create", f"{root}/deb1"]))
            ok(hv1.run(["tee", f"{root}/deb1/data.txt"], input="over ssh\n"))
            ok(hv1.osvc("-s", "deb1", "start"))
            ok(hv1.osvc("-s", "deb1", "sync_all"))

            assert ok(hv2.run(["cat", f"{root}/deb1/data.txt"])).stdout == "over ssh\n"
            listed = ok(hv2.run(["btrfs", "subvolume", "list", "-p", root])).stdout
            assert sorted(line.split(" path ", 1)[1] for line in listed.splitlines()) == ["deb1", "deb1@sent"]
            argvs = [r["argv"] for r in commands(hv1, "sync#1")]
            # the receive runs on hv2, reading the stream ssh forwards: no -n
            assert [*SSH, "--", "hv2", f"btrfs receive -- {root}"] in argvs
            assert [*SSH, "-n", "--", "hv2", f"mv -- {root}/deb1@tosend {root}/deb1@sent"] in argvs
            state = f"{nodes.root}/var/deb1_sync#1_btrfs_state"
            assert ["rsync", "-t", "-e", " ".join(SSH), "--", state, f"hv2:{state}"] in argvs
            line = "|  '- sync#1         .... up       btrfs of deb1:deb1 to ['nodes']\n"
            assert line in ok(hv1.osvc("-s", "deb1", "print", "status")).stdout
            assert line in ok(hv2.osvc("-s", "deb1", "print", "status", "--refresh")).stdout   # its copy of the state
    finally:
        for image in images:       # the mounts went with the nodes' namespaces
            cleanup_image(image)
