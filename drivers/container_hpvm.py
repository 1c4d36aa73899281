"""container.hpvm: an HP Integrity VM guest (docs/agent-reference.md §6.1 hpvm, §6.3; b1.8 resContainerHpVm.py).

Every command lives in the HPVM bin folder (`[paths] hpvm`, default /opt/hpvm/bin):

    start         hpvmstart -P <name>
    stop          hpvmstop -g -F -P <name>      (graceful: the guest OS shuts down; -F: no prompt)
    force stop    hpvmstop -F -P <name>         (power off)
    up test       hpvmstatus -M -P <name>       machine format, colon-separated: field 10 == `On`
    manual boot   the same line, field 11 == `Manual` (else status says `container auto boot is on`)
    disks         hpvmstatus -d -P <name>       `<type>:<bus>:<hw path>:<backing type>:<device>`,
                                                the `disk` backings (what a reservation can hold)
    migrate       hpvmmigrate -o -P <name> -h <dest>   (online migration; used by `migrate --to`)

Capabilities: the node has `hpvmstatus`. files_to_sync: the guest's folder under
`[paths] hpvm_guests` (default /var/opt/hpvm/guests/<name>, a symlink to its uuid folder) and that
folder itself, as the 1.x agent syncs them to the other nodes.
"""

import os

from drivers.base import DriverError
from drivers.container import Container

STATE_FIELD = 10      # hpvmstatus -M: the VM's state (On / Off)
BOOT_FIELD = 11       # hpvmstatus -M: the boot attribute (Manual / Auto)
GUESTS = "/var/opt/hpvm/guests"


def machine_fields(text: str) -> list:
    """The colon-separated fields of the first `hpvmstatus -M` line ([] when there is none)."""
    for line in text.splitlines():
        if line.strip():
            return line.strip().split(":")
    return []


def field(text: str, index: int) -> str | None:
    fields = machine_fields(text)
    return fields[index] if len(fields) > index else None


def parse_disks(text: str) -> list:
    """Backing devices of type `disk` in `hpvmstatus -d` lines (lv, file, network... are skipped)."""
    devs = []
    for line in text.splitlines():
        words = line.strip().split(":")
        if len(words) >= 5 and words[3] == "disk" and words[4] not in devs:
            devs.append(words[4])
    return devs


class Hpvm(Container):

    def tool(self, name: str) -> str:
        return os.path.join(self.path("hpvm"), name)

    # --- the sequence's hooks -------------------------------------------------------------------
    def up_argv(self) -> list:
        return [self.tool("hpvmstatus"), "-M", "-P", self.name]

    def parse_up(self, result) -> bool:
        return result.ok and field(result.out, STATE_FIELD) == "On"

    def container_start(self):
        self.ctx.run([self.tool("hpvmstart"), "-P", self.name], timeout=self.start_timeout)

    def container_stop(self):
        self.ctx.run([self.tool("hpvmstop"), "-g", "-F", "-P", self.name], timeout=self.stop_timeout)

    def container_forcestop(self):
        self.ctx.run([self.tool("hpvmstop"), "-F", "-P", self.name], timeout=self.stop_timeout)

    def migrate(self, dest: str):
        """Online migration to node `dest` (the cluster's `migrate --to`)."""
        self.ctx.run([self.tool("hpvmmigrate"), "-o", "-P", self.name, "-h", dest],
                     timeout=self.start_timeout)

    # --- status ---------------------------------------------------------------------------------
    def check_capabilities(self) -> bool:
        return os.path.exists(self.tool("hpvmstatus"))

    def check_manual_boot(self) -> bool:
        try:
            result = self.probe(self.up_argv())
        except DriverError:       # no hpvmstatus here: the capabilities check says so
            return True
        if not result.ok:
            return True     # no status line, no claim about the boot attribute (the up test reports)
        return field(result.out, BOOT_FIELD) == "Manual"

    # --- files and disks ---------------------------------------------------------------------------
    def disklist(self) -> list:
        argv = [self.tool("hpvmstatus"), "-d", "-P", self.name]
        result = self.probe(argv)
        if not result.ok:
            detail = (result.err or result.out).strip()
            raise DriverError(f"{' '.join(argv)} failed (rc {result.rc})" + (f": {detail}" if detail else ""))
        return parse_disks(result.out)

    def files_to_sync(self) -> list:
        guests = str(self.ctx.node.setting("paths", "hpvm_guests", GUESTS))
        guest = os.path.join(guests, self.name)
        files = []
        for path in (guest, os.path.realpath(guest)):
            if os.path.exists(path) and path not in files:
                files.append(path)
        return files
