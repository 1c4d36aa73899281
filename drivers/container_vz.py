"""container.vz: an OpenVZ container, known by its CTID, the container's `name` (docs/agent-reference.md §6.1 vz row).

    start      vzctl start <ctid>
    stop       vzctl stop <ctid>;  no force stop (error `no forced stop method`)
    up test    vzctl status <ctid> -> `CTID <ctid> exist mounted running`: 5 words, words 3-5
               (down: `... unmounted down`)
    ping       none;  operational: vzctl exec <ctid> /sbin/ifconfig -a exits 0
    status     capabilities: `vzctl` on PATH; auto boot on when the cf <vz>/<ctid>.conf says
               ONBOOT="yes"
    sync       files_to_sync: the cf
"""

import os
import shutil

from drivers.container import Container

RUNNING = ["exist", "mounted", "running"]


def onboot(text) -> bool:
    """Does a vz cf start the container at host boot? (`ONBOOT="yes"`, comments ignored)"""
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#") and key.strip() == "ONBOOT":
            return value.strip().strip("\"'").lower() == "yes"
    return False


class Vz(Container):
    pings = False

    @property
    def cf(self):
        return os.path.join(self.path("vz"), f"{self.name}.conf")

    def vzctl(self, *args, timeout=300):
        return self.ctx.run(["vzctl", *args], timeout=timeout)

    # --- technology hooks -----------------------------------------------------------------------
    def container_start(self):
        self.vzctl("start", self.name)

    def container_stop(self):
        self.vzctl("stop", self.name)

    def up_argv(self):
        return ["vzctl", "status", self.name]

    def parse_up(self, result):
        words = result.out.split()
        return result.ok and len(words) == 5 and words[2:] == RUNNING

    def is_down(self):
        """Unmounted and down (`exist` or `deleted`): a mounted container whose init is not running
        yet (a start in progress) is neither up nor down, and a stop (a rollback) must stop it."""
        result = self.probe(self.up_argv())
        words = result.out.split()
        return result.ok and len(words) == 5 and words[3:] == ["unmounted", "down"]

    def runmethod(self):
        return ["vzctl", "exec", self.name]

    def operational(self):
        return self.probe([*self.runmethod(), "/sbin/ifconfig", "-a"]).ok

    def check_capabilities(self):
        return shutil.which("vzctl") is not None

    def check_manual_boot(self):
        try:
            with open(self.cf) as fh:
                return not onboot(fh.read())
        except OSError:
            return True        # no cf here: nothing boots it

    def files_to_sync(self):
        return [self.cf]
