"""Loop-device images for fs/disk tests, cleaned up even when a test fails: every mount of a
device backed by the image is unmounted, every loop device of the image detached."""

import os
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
    """A 32 MiB image file (not attached, not formatted); cleaned up afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root for loop devices and mounts")
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
