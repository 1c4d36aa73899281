"""The seed's tree (docs/design.md §4, the hypervisor's view of deb1.opensvc.com), byte for byte, from a
real two-level service, and the same service as the container sees it.

hv1 (a node root here, reaching hv2 through the local transport) runs the LXC container deb1
(tests/helpers/guest.py) whose engine plumbs the two encap ips in the guest's own network namespace:
128.0.0.2 on lo and `deb1` (the guest's /etc/hosts) on eth0. The host mounts an ext4 filesystem on a real
device named /dev/mapper/data-deb1 at /deb1 (in a mount namespace of its own), runs its 1.5
launcher folder with no check script, replicates its config to hv2 (sync#i0) and sends the btrfs
subvolume deb1 to hv2 (sync#1). The host engine runs
through nsenter into one namespace kept for the test: `ip netns exec` alone would give each command a
mount namespace of its own, and the filesystem would vanish between two commands."""

import os
import shutil
import subprocess

import pytest

from tests.helpers.cli import osvc, write_launcher
from tests.helpers.guest import LxcGuest, lxc_missing
from tests.helpers.loop import cleanup_image

pytestmark = pytest.mark.root

SVC = "deb1.opensvc.com"
MNT = "/deb1"
DM = "data-deb1"

HOST_TREE = """\
deb1.opensvc.com
overall                   up
|- avail                  up
|  |- container#0    .... up       deb1
|  |  |- ip#2        ...E up       128.0.0.2@lo
|  |  '- ip#1        ...E up       deb1@eth0
|  |- fs#1           .... up       /dev/mapper/data-deb1@/deb1
|  '- app            .... n/a      app
|                                  # no checkup scripts
|- sync                   up
|  |- sync#i0        .... up       rsync svc config to drpnodes, nodes
|  '- sync#1         .... up       btrfs of deb1:deb1 to ['nodes']
'- hb                     n/a
"""

GUEST_TREE = """\
deb1.opensvc.com
overall                   up
|- avail                  up
|  |- ip#2           ...E up       128.0.0.2@lo
|  '- ip#1           ...E up       deb1@eth0
|- sync                   n/a
'- hb                     n/a
"""


@pytest.fixture
def dm_device(loop_image):
    """/dev/mapper/data-deb1 over a real loop device with an ext4 on it. The node is a symlink to the loop
    device, not a device-mapper target: the kernels these tests run on may lack device-mapper
    (`dmsetup create`: "/dev/mapper/control: open failed: No such device"), and the seed needs the name
    only (the fs driver compares real paths: the mount, its device and its status are the loop's, real)."""
    loop = subprocess.run(["losetup", "-f", "--show", str(loop_image)], check=True, capture_output=True,
                          text=True).stdout.strip()
    subprocess.run(["mkfs.ext4", "-q", "-F", loop], check=True)
    node = f"/dev/mapper/{DM}"
    os.makedirs("/dev/mapper", exist_ok=True)
    if os.path.lexists(node):
        pytest.fail(f"{node} exists on this machine: the test will not replace it")
    os.symlink(loop, node)
    try:
        yield node
    finally:
        os.unlink(node)


@pytest.fixture
def deb1_guest(tmp_path):
    """The LXC guest deb1, 10.231.7.2 on its eth0 (a veth to a bridge in its own network namespace)."""
    missing = lxc_missing()
    if missing:
        pytest.skip(missing)
    guest = LxcGuest(tmp_path, name="deb1", addr="10.231.7.2")
    try:
        guest.create()
        yield guest
    finally:
        guest.destroy()


@pytest.fixture
def deb1(deb1_guest, tmp_path, dm_device):
    if not shutil.which("mkfs.btrfs"):
        pytest.skip("mkfs.btrfs missing (apt-get install btrfs-progs)")
    guest = deb1_guest
    guest.write("/etc/hosts", "127.0.0.1 localhost\n10.231.7.2 deb1\n")
    roots = {n: guest.host_root(tmp_path / n) for n in ("hv1", "hv2")}
    for name, root in roots.items():
        conf = root / "etc" / "node.conf"
        conf.write_text(conf.read_text().replace(
            "[container]\n", f"[container]\nguest_engine = {guest.engine_path}\nguest_path = {guest.path}\n", 1)
            + "\n[transport]\nkind = local\n\n[roots]\n" + "".join(f"{n} = {r}\n" for n, r in roots.items()))
    env = (f"[DEFAULT]\nnodes = hv1 hv2\nencapnodes = deb1\nnodes@encapnodes = deb1\n\n"
           + guest.container_section(rid="container#0")
           + "[ip#2]\ntags = encap\nipname = 128.0.0.2\nipdev = lo\nnetmask = 8\n\n"
           + "[ip#1]\ntags = encap\nipname = deb1\nipdev = eth0\nnetmask = 24\n\n"
           + f"[fs#1]\ntype = ext4\ndev = {dm_device}\nmnt = {MNT}\n\n"
           + "[sync#1]\ntype = btrfs\nsrc = deb1:deb1\ndst = deb1:deb1\ntarget = nodes\n")
    hv1 = roots["hv1"]
    (hv1 / "etc" / f"{SVC}.env").write_text(env)
    state = tmp_path / "app-state"
    state.mkdir()
    write_launcher(hv1 / "etc" / f"{SVC}.d" / "S10web", f"touch {state}/web")
    write_launcher(hv1 / "etc" / f"{SVC}.d" / "K10web", f"rm -f {state}/web")
    created = not os.path.exists(MNT)
    if created:
        os.mkdir(MNT)
    # hv1: one mount namespace that `ip netns exec` made for the guest's network namespace (its /sys is that
    # namespace's, which lxc-start needs for the veth), kept by a sleeping process and entered by every
    # host command, so /deb1 stays mounted from one command to the next, and nowhere else
    holder = subprocess.Popen(["ip", "netns", "exec", guest.ns, "sleep", "infinity"])
    wrap = ("nsenter", f"--net=/run/netns/{guest.ns}", f"--mount=/proc/{holder.pid}/ns/mnt")
    images = []
    try:
        # sync#1's btrfs, labelled deb1 on both nodes, each mounted (top level) on <root>/var/btrfs/deb1 where
        # the driver looks, beforehand: two devices of one label on one machine make a mount by label ambiguous
        for name, root in roots.items():
            image = tmp_path / f"{name}-btrfs.img"
            with open(image, "wb") as fh:
                fh.truncate(128 * 1024 * 1024)
            images.append(image)
            subprocess.run(["mkfs.btrfs", "-q", "-L", "deb1", str(image)], check=True, capture_output=True)
            dev = subprocess.run(["losetup", "-f", "--show", str(image)], check=True, capture_output=True,
                                 text=True).stdout.strip()
            (root / "var" / "btrfs" / "deb1").mkdir(parents=True)
            subprocess.run([*wrap, "mount", "-t", "btrfs", "-o", "subvolid=0", dev, str(root / "var" / "btrfs" / "deb1")],
                           check=True)
        subprocess.run([*wrap, "btrfs", "subvolume", "create", str(hv1 / "var" / "btrfs" / "deb1" / "deb1")],
                       check=True, capture_output=True)
        yield guest, (lambda *args: osvc(hv1, "-s", SVC, *args, node="hv1", wrap=wrap))
    finally:
        osvc(hv1, "-s", SVC, "stop", node="hv1", wrap=wrap)
        subprocess.run([*wrap, "umount", MNT], capture_output=True)
        holder.kill()          # its mount namespace goes with it, and the btrfs mounts
        holder.wait()
        for image in images:
            cleanup_image(image)
        if created:
            os.rmdir(MNT)


def ok(res):
    assert res.returncode == 0, f"rc {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


def test_the_seed_tree_from_a_real_two_level_service(deb1):
    guest, host = deb1
    ok(host("start"))
    ok(host("sync_all", "--force"))
    assert ok(host("print", "status", "--refresh")).stdout == HOST_TREE
    assert ok(guest.engine("-s", SVC, "print", "status")).stdout == GUEST_TREE
