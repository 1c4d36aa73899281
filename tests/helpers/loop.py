"""Loop-device images for fs/disk tests, cleaned up even when a test fails: every mount of a
device backed by the image is unmounted, every loop device of the image detached."""

import shutil
import subprocess

import pytest

TOOLS = ("losetup", "mkfs.ext4", "mount", "umount")


def attached(image) -> list[str]:
    out = subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True).stdout
    return [line.split(":", 1)[0] for line in out.splitlines() if line.startswith("/dev/")]


def cleanup_image(image, extra_mounts=()):
    devs = attached(image)
    with open("/proc/mounts") as f:
        mounts = [line.split()[:2] for line in f]
    for src, point in reversed(mounts):
        if src in devs or point in extra_mounts:
            subprocess.run(["umount", "-l", point], capture_output=True)
    for dev in devs:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


@pytest.fixture
def loop_image(tmp_path):
    """A 32 MiB image file (not attached, not formatted); cleaned up afterwards. Root: a test using it
    is marked `root` (conftest)."""
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        pytest.skip(f"missing tools: {', '.join(missing)} (apt-get install util-linux e2fsprogs)")
    image = tmp_path / "disk.img"
    with open(image, "wb") as f:
        f.truncate(32 * 1024 * 1024)
    try:
        yield image
    finally:
        cleanup_image(image, extra_mounts=(str(tmp_path / "mnt"),))


@pytest.fixture
def mount_ns(tmp_path, loop_image):
    """A persistent private mount namespace (the file to give `nsenter --mount=`) for the engine's
    mounts of `<loop_image dir>/mnt`. Mounts here are private (as in most containers): any process
    that unshares its mount namespace meanwhile (`ip netns exec`, in another test running at the same
    time, in this xdist run or another) would keep a copy of a mount made in ours, and with it the loop
    device busy after our umount. Torn down before the loop image is detached."""
    holder = tmp_path / "mntns"
    holder.mkdir()
    subprocess.run(["mount", "--bind", str(holder), str(holder)], check=True)
    subprocess.run(["mount", "--make-private", str(holder)], check=True)
    nsfile = holder / "ns"
    nsfile.touch()
    subprocess.run(["unshare", f"--mount={nsfile}", "--propagation", "private", "true"], check=True)
    try:
        yield nsfile
    finally:
        mnt = loop_image.parent / "mnt"
        subprocess.run(["nsenter", f"--mount={nsfile}", "umount", str(mnt)], capture_output=True)
        subprocess.run(["umount", str(nsfile)], capture_output=True)
        subprocess.run(["umount", str(holder)], capture_output=True)


def mounted_in(nsfile, mnt) -> bool:
    """Is `mnt` a mount point in the mount namespace `nsfile` (a `mount_ns`)?"""
    mounts = subprocess.run(["nsenter", f"--mount={nsfile}", "cat", "/proc/mounts"], capture_output=True,
                            text=True, check=True).stdout
    return any(line.split()[1] == str(mnt) for line in mounts.splitlines())
