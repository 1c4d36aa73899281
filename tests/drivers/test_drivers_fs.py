"""disk loop + fs ext4 on a real loop device; vg on a real loop-backed physical volume."""

import os
import shutil
import subprocess

import pytest

from tests.helpers.drivers import make_driver
from tests.helpers.loop import attached

pytestmark = pytest.mark.root


def mounted(point):
    with open("/proc/mounts") as f:
        return [line.split()[0] for line in f if line.split()[1] == str(point)]


@pytest.fixture
def ext4_loop(loop_image, node):
    """The image attached by the disk loop driver and formatted ext4: (disk driver, device)."""
    disk, log, _ = make_driver(node, "disk", "loop", {"file": str(loop_image)})
    disk.start()
    [dev] = disk.devices()
    subprocess.run(["mkfs.ext4", "-q", dev], check=True)
    return disk, dev


def test_loop_start_status_stop(loop_image, node):
    disk, log, events = make_driver(node, "disk", "loop", {"file": str(loop_image)})
    assert disk.label() == f"loop {loop_image}"
    assert disk.status() == ("down", [])
    disk.start()
    assert disk.can_rollback
    [dev] = disk.devices()
    assert attached(loop_image) == [dev]
    assert disk.status() == ("up", [])
    assert [e["payload"]["argv"] for e in events] == [["losetup", "-f", "--show", "--", str(loop_image)]]
    assert log.lines[0] == ("INFO", f"losetup -f --show -- {loop_image}")
    assert log.lines[1] == ("INFO", f"output:\n{dev}")
    # already up: nothing changes
    again, log2, events2 = make_driver(node, "disk", "loop", {"file": str(loop_image)})
    again.start()
    assert log2.lines == [("INFO", f"loop {loop_image} is already up ({dev})")] and events2 == []
    assert not again.can_rollback
    disk.stop()
    assert attached(loop_image) == [] and disk.status() == ("down", [])


def test_loop_missing_file(node, tmp_path):
    disk, _, _ = make_driver(node, "disk", "loop", {"file": str(tmp_path / "none.img")})
    assert disk.status() == ("down", [f"file {tmp_path / 'none.img'} does not exist"])
    with pytest.raises(Exception, match=r"file .*none.img does not exist \(check file of disk#1\)"):
        disk.start()


def test_fs_mount_status_umount(ext4_loop, node, tmp_path):
    disk, dev = ext4_loop
    mnt = tmp_path / "mnt" / "data"          # created by start
    fs, log, events = make_driver(node, "fs", "ext4", {"dev": dev, "mnt": str(mnt)})
    assert fs.label() == f"{dev}@{mnt}"
    assert fs.status() == ("down", [])
    fs.start()
    assert mounted(mnt) == [dev] and fs.can_rollback
    assert [e["payload"]["argv"] for e in events] == [["e2fsck", "-p", "--", dev],
                                                      ["mount", "-t", "ext4", "--", dev, str(mnt)]]
    assert ("INFO", f"create missing mountpoint {mnt}") in log.lines
    assert ("INFO", f"mount -t ext4 -- {dev} {mnt}") in log.lines
    assert fs.status() == ("up", [])
    (mnt / "hello").write_text("x")
    # already mounted: no command
    again, log2, events2 = make_driver(node, "fs", "ext4", {"dev": dev, "mnt": str(mnt)})
    again.start()
    assert log2.lines == [("INFO", f"{dev}@{mnt} is already mounted")] and events2 == []
    fs.stop()
    assert mounted(mnt) == [] and fs.status() == ("down", [])
    assert not (mnt / "hello").exists()
    # the disk goes after the fs: the loop device is detached
    disk.stop()
    assert attached(disk.file) == []


def test_fs_options_and_backing_file_status(ext4_loop, node, tmp_path):
    disk, dev = ext4_loop
    mnt = tmp_path / "mnt"
    fs, _, events = make_driver(node, "fs", "ext4", {"dev": dev, "mnt": str(mnt), "mnt_opt": "ro"})
    fs.start()
    assert events[-1]["payload"]["argv"] == ["mount", "-t", "ext4", "-o", "ro", "--", dev, str(mnt)]
    assert with_opts(mnt).split(",")[0] == "ro"
    # the loop device's backing file names the same device
    by_file, _, _ = make_driver(node, "fs", "ext4", {"dev": str(disk.file), "mnt": str(mnt)})
    assert by_file.status() == ("up", [])
    # another device on our mount point is not ours: warn, and stop leaves it alone
    other, log, ev = make_driver(node, "fs", "ext4", {"dev": "/dev/null", "mnt": str(mnt)})
    assert other.status() == ("warn", [f"{mnt} is mounted from {dev}, not /dev/null"])
    other.stop()
    assert mounted(mnt) == [dev] and ev == []
    fs.stop()


def with_opts(point):
    with open("/proc/mounts") as f:
        return next(line.split()[3] for line in f if line.split()[1] == str(point))


def test_fs_umount_kills_holders(ext4_loop, node, tmp_path):
    disk, dev = ext4_loop
    mnt = tmp_path / "mnt"
    fs, log, events = make_driver(node, "fs", "ext4", {"dev": dev, "mnt": str(mnt)})
    fs.start()
    holder = subprocess.Popen(["sleep", "300"], cwd=mnt)   # keeps the fs busy
    try:
        fs.stop()
        assert mounted(mnt) == []
        argvs = [e["payload"]["argv"] for e in events]
        assert ["fuser", "-kmv", str(mnt)] in argvs
        assert argvs.count(["umount", "--", str(mnt)]) == 2
        assert holder.wait(timeout=10) == -9
    finally:
        if holder.poll() is None:
            holder.kill()


def test_fs_deeper_mounts_go_first(ext4_loop, node, tmp_path):
    disk, dev = ext4_loop
    mnt = tmp_path / "mnt"
    fs, _, events = make_driver(node, "fs", "ext4", {"dev": dev, "mnt": str(mnt)})
    fs.start()
    inner = mnt / "inner"
    inner.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(inner)], check=True)
    fs.stop()
    argvs = [e["payload"]["argv"] for e in events if e["payload"]["argv"][0] == "umount"]
    assert argvs == [["umount", "--", str(inner)], ["umount", "--", str(mnt)]]
    assert mounted(mnt) == [] and mounted(inner) == []


def test_fs_missing_device(node, tmp_path):
    fs, _, events = make_driver(node, "fs", "ext4", {"dev": "/dev/osvc-none", "mnt": str(tmp_path / "m")})
    with pytest.raises(Exception) as exc:
        fs.start()
    assert str(exc.value) == "device /dev/osvc-none does not exist (check dev of fs#1)"
    assert events == [] and not (tmp_path / "m").exists()


def test_fs_not_responding_to_stat(node, tmp_path, monkeypatch):
    import drivers.fs as fsmod
    from drivers.base import Timeouts

    fs, _, _ = make_driver(node, "fs", "tmpfs", {"dev": "tmpfs", "mnt": str(tmp_path)},
                           timeouts=Timeouts(stat=0.05))
    monkeypatch.setattr(fsmod, "read_mounts", lambda path=None: [("tmpfs", str(tmp_path), "tmpfs")])
    monkeypatch.setattr(fsmod, "stat_responds", lambda path, timeout: False)
    assert fs.status() == ("warn", ["fs is not responding to stat"])


def test_vg_on_a_loop_physical_volume(loop_image, node):
    """LVM for real: pvcreate/vgcreate on a loop device; vgchange activates/deactivates.

    This kernel has no device-mapper (/dev/mapper/control cannot be opened), so no logical volume
    can be created or activated: the vg has none and its status is n/a. The lv_attr verdicts are
    checked by test_vg_status_table.
    """
    for tool in ("pvcreate", "vgcreate", "vgremove", "lvs", "vgchange"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} missing (apt-get install lvm2)")
    dev = subprocess.run(["losetup", "-f", "--show", str(loop_image)], capture_output=True,
                         text=True, check=True).stdout.strip()
    vg = f"osvct{os.getpid()}"
    env = {**os.environ, "LVM_SUPPRESS_FD_WARNINGS": "1"}
    subprocess.run(["pvcreate", "-q", dev], check=True, env=env, capture_output=True)
    subprocess.run(["vgcreate", "-q", vg, dev], check=True, env=env, capture_output=True)
    try:
        drv, log, events = make_driver(node, "disk", "vg", {"name": vg})
        assert drv.label() == f"vg {vg}"
        assert drv.status() == ("n/a", ["no logical volumes"])
        drv.start()
        assert vg_tags(vg, env) == "node1"
        drv.stop()
        assert [e["payload"]["argv"] for e in events] == [
            ["vgchange", "--addtag", "@node1", "--", vg], ["vgchange", "-a", "y", "--", vg],
            ["vgchange", "-a", "n", "--", vg], ["vgchange", "--deltag", "@node1", "--", vg]]
        assert all(e["payload"]["rc"] == 0 for e in events)
        assert vg_tags(vg, env) == ""
        missing, _, _ = make_driver(node, "disk", "vg", {"name": vg + "x"})
        assert missing.status() == ("down", [f"vg {vg}x not found"])
    finally:
        subprocess.run(["vgremove", "-f", vg], env=env, capture_output=True)
        subprocess.run(["pvremove", "-q", dev], env=env, capture_output=True)
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def vg_tags(vg, env):
    return subprocess.run(["vgs", "--noheadings", "-o", "vg_tags", vg], env=env,
                          capture_output=True, text=True).stdout.strip()


def test_vg_status_table():
    from drivers.disk_vg import vg_status

    assert vg_status(["-wi-a-----", "-wi-a-----"]) == ("up", [])
    assert vg_status(["-wi-------"]) == ("down", [])
    assert vg_status(["-wi-a-----", "-wi-------"]) == ("warn", ["1/2 logical volumes active"])
    assert vg_status([]) == ("n/a", ["no logical volumes"])
