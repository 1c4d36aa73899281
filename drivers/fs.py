"""fs: a filesystem mounted on `mnt` from `dev` (docs/agent-reference.md §6.4).

Keywords: dev, mnt, type (mount type: ext4, xfs, tmpfs...), mnt_opt.
Status reads /proc/mounts (no command): up when `mnt` is mounted from `dev` — paths compared after
resolving symlinks, and a loop device counts as its backing file — plus a bounded stat of the mount
point in a thread (a hung NFS server must not hang `print status`).
"""

import os
import threading
import time
from pathlib import Path

from domain.mounts import normalized, system_mount_point
from drivers.base import Driver, DriverError

MOUNTS = "/proc/mounts"
STAT_TIMEOUT = 5          # seconds before `fs is not responding to stat`
UMOUNT_TRIES = 3
MOUNT_TIMEOUT = 120

# fsck before mount, per type: argv prefix (the device is appended) and the rcs that mean "clean
# or fixed" (e2fsck: 0 clean, 1 errors corrected). Types absent here are mounted without a check
# (xfs and btrfs check themselves at mount time).
FSCK = {
    "ext2": (["e2fsck", "-p", "--"], {0, 1}),
    "ext3": (["e2fsck", "-p", "--"], {0, 1}),
    "ext4": (["e2fsck", "-p", "--"], {0, 1}),
}


def _unescape(field: str) -> str:
    """/proc/mounts escapes space, tab, newline and backslash as octal (\\040...)."""
    if "\\" not in field:
        return field
    return field.encode().decode("unicode_escape")


def read_mounts(path=MOUNTS) -> list[tuple[str, str, str]]:
    """(device, mount point, type) of every mount, in mount order."""
    with open(path) as f:
        return [tuple(_unescape(w) for w in line.split()[:3]) for line in f if line.strip()]


def loop_backing_file(dev: str) -> str | None:
    """The file behind /dev/loopN, from sysfs (None when dev is not an attached loop device)."""
    name = os.path.basename(os.path.realpath(dev))
    if not name.startswith("loop"):
        return None
    try:
        return Path(f"/sys/block/{name}/loop/backing_file").read_text().strip()
    except OSError:
        return None


def same_device(a: str, b: str) -> bool:
    """True when the mount source `a` is the configured `b` (symlinks and loop files resolved)."""
    names_a = {a, os.path.realpath(a)}
    names_b = {b, os.path.realpath(b)}
    for names in (names_a, names_b):
        for name in list(names):
            backing = loop_backing_file(name)
            if backing:
                names.add(backing)
                names.add(os.path.realpath(backing))
    return bool(names_a & names_b)


def stat_responds(path: str, timeout: float = STAT_TIMEOUT) -> bool:
    """os.stat(path) in a daemon thread, waited `timeout` s: False if it hangs."""
    done = threading.Event()

    def probe():
        try:
            os.stat(path)
        except OSError:
            pass
        done.set()

    threading.Thread(target=probe, daemon=True).start()
    return done.wait(timeout)


class Fs(Driver):
    family = "fs"

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.dev = str(self.conf.get("dev", ""))
        self.mnt = str(self.conf.get("mnt", ""))
        self.fstype = str(self.conf.get("type") or res.type or "")
        self.mnt_opt = str(self.conf.get("mnt_opt") or "")

    def label(self) -> str:
        return f"{self.dev}@{self.mnt}"

    # --- status -----------------------------------------------------------------------------
    def _mounted_at(self):
        """Sources mounted on our mount point (last one on top)."""
        mnt = os.path.realpath(self.mnt)
        return [src for src, point, _ in read_mounts() if point in (mnt, self.mnt)]

    def is_up(self) -> bool:
        return any(same_device(src, self.dev) for src in self._mounted_at())

    def status(self):
        sources = self._mounted_at()
        if not sources:
            return "down", []
        if not any(same_device(src, self.dev) for src in sources):
            return "warn", [f"{self.mnt} is mounted from {sources[-1]}, not {self.dev}"]
        timeout = self.ctx.timeouts.stat if self.ctx.timeouts.stat is not None else STAT_TIMEOUT
        if not stat_responds(self.mnt, timeout):
            return "warn", ["fs is not responding to stat"]
        return "up", []

    # --- start ------------------------------------------------------------------------------
    def start(self):
        if self.is_up():
            self.ctx.log.info(f"{self.label()} is already mounted")
            return
        self._validate_dev()
        dev = self._block_device()
        if not os.path.isdir(self.mnt):
            self.ctx.log.info(f"create missing mountpoint {self.mnt}")
            try:
                os.makedirs(self.mnt, exist_ok=True)
            except OSError as exc:
                raise DriverError(f"cannot create mount point {self.mnt}: {exc.strerror}") from None
        self._fsck(dev)
        argv = ["mount"] + (["-t", self.fstype] if self.fstype else []) \
            + (["-o", self.mnt_opt] if self.mnt_opt else []) + ["--", dev, self.mnt]
        self.ctx.run(argv, timeout=MOUNT_TIMEOUT)
        # a start that did not produce its effect is not `up` (`mount --help` exits 0 and mounts nothing)
        if not self.is_up():
            sources = self._mounted_at()
            found = f"it is mounted from {sources[-1]}" if sources else "nothing is mounted there"
            raise DriverError(f"mount exited 0 but {self.mnt} is not mounted from {self.dev}: {found}")
        self.can_rollback = True

    def _validate_dev(self):
        # only path-like devices can be checked here (tmpfs, server:/export, LABEL=... cannot)
        if self.dev.startswith("/") and not os.path.exists(self.dev):
            raise DriverError(f"device {self.dev} does not exist (check dev of {self.res.rid})")

    def _block_device(self):
        """A `dev` naming an image file means the loop device a disk loop resource attached to it:
        the config cannot know /dev/loopN in advance, and mounting the file itself would attach a
        second loop device behind the disk resource's back."""
        if not os.path.isfile(self.dev):
            return self.dev
        from drivers.disk_loop import parse_losetup_j

        devs = parse_losetup_j(self.ctx.run(["losetup", "-j", self.dev], quiet=True, check=False).out)
        if not devs:
            raise DriverError(f"dev {self.dev} is an image file with no loop device attached: declare a "
                              f"[disk#N] type = loop resource with file = {self.dev} (started before the fs)")
        return devs[0]

    def _fsck(self, dev):
        if self.fstype not in FSCK or not dev.startswith("/"):
            return
        prefix, ok = FSCK[self.fstype]
        res = self.ctx.run(prefix + [dev], timeout=3600, check=False)
        if res.rc not in ok:
            raise DriverError(f"fsck of {dev} failed (rc {res.rc}): repair it by hand "
                              f"({' '.join(prefix[:1])} {dev})")

    # --- stop -------------------------------------------------------------------------------
    def stop(self):
        self._refuse_system_mount_point(self.mnt)
        if not self.is_up():    # not mounted, or mounted from another device: not ours to umount
            self.ctx.log.info(f"{self.label()} is already umounted")
            return
        for point in self._deeper_mounts():
            self._umount(point)
        self._umount(self.mnt)

    def _deeper_mounts(self):
        """Mount points below ours, deepest first: they must go before ours can."""
        top = os.path.realpath(self.mnt).rstrip("/") + "/"
        points = {point for _, point, _ in read_mounts() if point.startswith(top)}
        return sorted(points, key=len, reverse=True)

    @staticmethod
    def _refuse_system_mount_point(point):
        """Never umount or `fuser -k` / or a system mount point (issue 17, item 6): validate refuses such an
        `mnt`, and the stop checks again, whatever the env file said when the fs was started."""
        for path in (normalized(point), normalized(os.path.realpath(point))):
            hit = system_mount_point(path)
            if hit is not None:
                raise DriverError(f"{point} is a system mount point ({hit}): refusing to umount or fuser -k it; "
                                  f"unmount it by hand if you really mean to")

    def _umount(self, point):
        self._refuse_system_mount_point(point)
        for attempt in range(1, UMOUNT_TRIES + 1):
            res = self.ctx.run(["umount", "--", point], timeout=MOUNT_TIMEOUT, check=False)
            if res.rc == 0:
                return
            if attempt < UMOUNT_TRIES:
                # kill whatever holds the mount point, then try again (fuser takes no `--`: `point` is
                # absolute, from the config or /proc/mounts, so never read as an option)
                self.ctx.run(["fuser", "-kmv", point], timeout=30, check=False)
                time.sleep(0.5 * attempt)
        raise DriverError(f"umount {point} failed after {UMOUNT_TRIES} tries "
                          f"(busy? see fuser -mv {point})")
