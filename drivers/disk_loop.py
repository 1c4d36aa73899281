"""disk loop: a file attached as a loop device with losetup (keyword `file`).

`devices()` gives the /dev/loopN attached to the file, so an fs (or the test that writes its env
file) can use the device path.
"""

import os
import time

from core.progress import Waiting
from drivers.base import Driver, DriverError

PROBE_TIMEOUT = 10
DETACH_WAIT = 5.0    # seconds stop waits for the kernel to release a detached device


def parse_losetup_j(text: str) -> list[str]:
    """`losetup -j FILE` lines (`/dev/loop0: [2049]:12 (/srv/img)`) -> devices."""
    return [line.split(":", 1)[0] for line in text.splitlines() if line.startswith("/dev/")]


class DiskLoop(Driver):
    family = "disk"

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.file = str(self.conf.get("file", ""))

    def label(self) -> str:
        return f"loop {self.file}"

    def devices(self) -> list[str]:
        """The loop devices attached to our file (empty when detached or the file is missing)."""
        if not os.path.exists(self.file):
            return []
        res = self.ctx.run(["losetup", "-j", self.file], timeout=PROBE_TIMEOUT, check=False,
                           quiet=True)
        return parse_losetup_j(res.out) if res.rc == 0 else []

    def status(self):
        if not os.path.exists(self.file):
            return "down", [f"file {self.file} does not exist"]
        return ("up", []) if self.devices() else ("down", [])

    def start(self):
        devs = self.devices()
        if devs:
            self.ctx.log.info(f"{self.label()} is already up ({', '.join(devs)})")
            return
        if not os.path.isfile(self.file):
            raise DriverError(f"file {self.file} does not exist (check file of {self.res.rid})")
        self.ctx.run(["losetup", "-f", "--show", "--", self.file], timeout=60)
        self.can_rollback = True

    def stop(self):
        devs = self.devices()
        if not devs:
            self.ctx.log.info(f"{self.label()} is already down")
            return
        for dev in devs:
            self.ctx.run(["losetup", "-d", dev], timeout=60)
        # `losetup -d` of a device still referenced (a mount copied into another mount namespace by a
        # concurrent `unshare`/`ip netns exec`) only sets autoclear: the detach happens when the last
        # reference goes. Wait a little for it, then say so rather than report a stop that is not done.
        deadline = time.monotonic() + DETACH_WAIT
        waiting = Waiting(f"{', '.join(devs)} to detach", DETACH_WAIT, time.monotonic, every=1.0)
        while self.devices():
            if time.monotonic() > deadline:
                raise DriverError(f"{', '.join(self.devices())} still attached to {self.file} after losetup -d: "
                                  f"the device is busy (a mount of it in another mount namespace?)")
            time.sleep(0.1)
            waiting.tick()          # a terminal's progress line, every second of the wait
