"""The driver registry: lazy imports, exact lookups and family catch-alls."""

import subprocess
import sys

from drivers.registry import DRIVERS, driver_class


def test_lookup():
    assert driver_class("ip", "").__name__ == "Ip"
    assert driver_class("fs", "ext4").__name__ == "Fs"
    assert driver_class("fs", "xfs").__name__ == "Fs"
    assert driver_class("disk", "loop").__name__ == "DiskLoop"
    assert driver_class("disk", "vg").__name__ == "DiskVg"
    assert driver_class("app", "").__name__ == "App"
    assert driver_class("sync", "rsync").__name__ == "SyncRsync"
    assert driver_class("sync", "").__name__ == "SyncRsync"
    assert driver_class("container", "nosuch") is None
    assert driver_class("disk", "zpool") is None


def test_every_entry_imports():
    for family, type_ in DRIVERS:
        assert driver_class(family, type_ if type_ != "*" else "anything") is not None


def test_drivers_do_not_import_sh_until_a_command_runs():
    code = ("import sys; from drivers.registry import driver_class\n"
            "[driver_class(f, t) for f, t in (('ip',''),('fs','ext4'),('disk','loop'),('disk','vg'),"
            "('app',''),('sync','rsync'))]\n"
            "import drivers.runner, drivers.transport\n"
            "print('sh' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
