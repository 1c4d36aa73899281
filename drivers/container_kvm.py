"""container.kvm: a libvirt/qemu guest driven with virsh (docs/agent-reference.md §6.1).

    start      virsh define <libvirt>/<name>.xml  (error `<cf> not found` when absent), virsh start <name>
    stop       virsh shutdown <name>;  force stop: virsh destroy <name>
    up test    virsh dominfo <name> has the word `running` (run on a peer for the conflict probe)
    status     capabilities: `virsh capabilities` must say `hvm`; auto boot on when
               <libvirt>/autostart/<name>.xml exists
    disks      the <disk><source dev=...> of the libvirt XML (fed to a scsireserv companion)

<libvirt> is the `libvirt` path of etc/node.conf [paths] (default /etc/libvirt/qemu).
"""

import os

from drivers.base import DriverError
from drivers.container import Container


def xml_disks(path) -> list:
    """Block devices backing a libvirt domain: every <disk><source dev=...> of its XML, in order."""
    from xml.etree import ElementTree

    try:
        tree = ElementTree.parse(path)
    except (OSError, ElementTree.ParseError) as exc:
        raise DriverError(f"can not read the disks of {path}: {exc}") from None
    devs = []
    for disk in tree.iter("disk"):
        source = disk.find("source")
        if source is not None and source.get("dev"):
            devs.append(source.get("dev"))
    return devs


class Virsh(Container):
    """What kvm and xen share: libvirt's start/stop/destroy/dominfo words."""

    up_words = ("running",)       # dominfo State words that mean "up"

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.status_notes = []    # status log lines a capability or boot check adds (reference status_log)

    def virsh(self, *args):
        return self.ctx.run(["virsh", *args], timeout=120)

    def container_start(self):
        self.virsh("start", "--domain", self.name)

    def container_stop(self):
        self.virsh("shutdown", "--domain", self.name)

    def container_forcestop(self):
        self.virsh("destroy", "--domain", self.name)

    def up_argv(self):
        return ["virsh", "dominfo", "--domain", self.name]

    def parse_up(self, result):
        if not result.ok:
            return False
        words = result.out.split()
        return any(w in words for w in self.up_words)

    def status(self):
        self.status_notes = []
        value, log = super().status()
        return value, self.status_notes + log


class Kvm(Virsh):
    @property
    def cf(self) -> str:
        return os.path.join(self.path("libvirt"), f"{self.name}.xml")

    def container_start(self):
        if not os.path.exists(self.cf):
            raise DriverError(f"{self.cf} not found")
        self.virsh("define", self.cf)
        super().container_start()

    def check_capabilities(self):
        result = self.probe(["virsh", "capabilities"])
        if not result.ok:
            self.status_notes.append("can not fetch capabilities")
            return False
        if "hvm" not in result.out:
            self.status_notes.append("hvm not supported by host")
            return False
        return True

    def check_manual_boot(self):
        return not os.path.exists(os.path.join(self.path("libvirt"), "autostart", f"{self.name}.xml"))

    def files_to_sync(self):
        return [self.cf] if os.path.exists(self.cf) else []

    def disklist(self):
        return xml_disks(self.cf) if os.path.exists(self.cf) else []
