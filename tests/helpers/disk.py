"""Real full disks: a tmpfs mounted for a test, filled to its last byte (root)."""

import contextlib
import subprocess

import pytest


def mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True)


def umount(path):
    subprocess.run(["umount", "-l", str(path)], check=True)


@contextlib.contextmanager
def tmpfs(path, size="400k"):
    """A tmpfs of `size` mounted on `path` (made if missing, mode 755) for the block; skips the test when
    this machine cannot mount one."""
    path.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=755", "tmpfs", str(path)],
                      check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield path
    finally:
        umount(path)


def fill_up(folder, name="filler"):
    """Fill the filesystem of `folder` to its last byte."""
    subprocess.run(["dd", "if=/dev/zero", f"of={folder / name}", "bs=4k"], check=False, capture_output=True)
    subprocess.run(["dd", "if=/dev/zero", f"of={folder / (name + '2')}", "bs=512"], check=False,
                   capture_output=True)


def free(folder, name="filler"):
    """Remove what fill_up wrote."""
    for path in (folder / name, folder / (name + "2")):
        path.unlink(missing_ok=True)
