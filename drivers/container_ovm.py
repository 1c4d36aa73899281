"""container.ovm: an Oracle VM guest driven with xm, known to Xen by its uuid (docs/agent-reference.md §6.1).

    start      xm create <vm.cfg>, the cfg found in the OVM repositories by uuid:
                 <ovs_mount>/*/running_pool/<uuid>/vm.cfg     OVM 2 (the seed's layout)
                 <ovs>/*/VirtualMachines/<uuid>/vm.cfg        OVM 3
                 <xen>/<uuid>                                 a plain Xen config
               several: warning, the first is used; none: `no configuration file found in repositories`
    stop       xm shutdown <uuid>;  force stop: xm destroy <uuid>
    up test    xm list --state=running has a line of >= 4 fields whose first is the uuid
    status     capabilities: `xm info` answers; auto boot on when <xen>/auto/<uuid> exists
    disks      the `phy:` devices of the cfg's `disk = [...]`
    migrate    xm migrate -l <uuid> <dest>  (for the cluster's migrate action)

The container's `name` (the service name, or vm_name) is the guest's host name and the OVM manager's
VM name (hb.ovm); `uuid` (vm_uuid in a 1.5 `mode = ovm` file) is the Xen domain name.
"""

import glob
import os
import re

from drivers.base import DriverError
from drivers.container import Container

# `disk = ['phy:/dev/mapper/x,xvda,w', 'file:/OVS/.../System.img,xvdb,w']`, possibly over several lines
DISK_LIST = re.compile(r"^\s*disk\s*=\s*\[(.*?)\]", re.S | re.M)
QUOTED = re.compile(r"""(['"])(.*?)\1""")


def cfg_disks(text) -> list:
    """The block devices (`phy:` entries) of a Xen cfg's disk list, in order."""
    match = DISK_LIST.search(text)
    if match is None:
        return []
    devs = []
    for _, entry in QUOTED.findall(match.group(1)):
        target = entry.split(",")[0].strip()
        if target.startswith("phy:"):
            devs.append(target[len("phy:"):])
    return devs


def running_uuids(text) -> set:
    """Domain names of `xm list` output lines with at least 4 fields (header and blank lines drop out
    by not matching any uuid)."""
    return {fields[0] for fields in (line.split() for line in text.splitlines()) if len(fields) >= 4}


class Ovm(Container):
    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.uuid = str(self.conf.get("uuid") or self.name)
        self.status_notes = []

    # --- the cfg ------------------------------------------------------------------------------
    def configs(self) -> list:
        """Every cfg of this uuid, in the order the repositories are searched."""
        found = sorted(glob.glob(os.path.join(glob.escape(self.path("ovs_mount")), "*", "running_pool",
                                              self.uuid, "vm.cfg")))
        found += sorted(glob.glob(os.path.join(glob.escape(self.path("ovs")), "*", "VirtualMachines",
                                               self.uuid, "vm.cfg")))
        plain = os.path.join(self.path("xen"), self.uuid)
        if os.path.isfile(plain):
            found.append(plain)
        return found

    def find_vmcf(self) -> str:
        found = self.configs()
        if not found:
            raise DriverError("no configuration file found in repositories")
        if len(found) > 1:
            self.ctx.log.warning(f"{len(found)} configuration files found in repositories "
                                 f"({', '.join(found)}): using {found[0]}")
        return found[0]

    # --- technology hooks ---------------------------------------------------------------------
    def xm(self, *args, timeout=120):
        return self.ctx.run(["xm", *args], timeout=timeout)

    def container_start(self):
        self.xm("create", self.find_vmcf())

    def container_stop(self):
        self.xm("shutdown", self.uuid)

    def container_forcestop(self):
        self.xm("destroy", self.uuid)

    def up_argv(self):
        return ["xm", "list", "--state=running"]

    def parse_up(self, result):
        return result.ok and self.uuid in running_uuids(result.out)

    def is_down(self):
        """Not listed at all. A domain still booting is listed paused: neither up nor down, so a recovery
        that probes it mid-boot closes the start as failed instead of claiming the VM down."""
        res = self.probe(["xm", "list"])
        return res.ok and self.uuid not in running_uuids(res.out)

    def migrate(self, dest):
        """Live migration to `dest` (the cluster's migrate action drives it; not an action by itself)."""
        self.xm("migrate", "-l", self.uuid, dest, timeout=self.start_timeout)

    def check_capabilities(self):
        if not self.probe(["xm", "info"]).ok:
            self.status_notes.append("can not fetch xm info")
            return False
        return True

    def check_manual_boot(self):
        return not os.path.exists(os.path.join(self.path("xen"), "auto", self.uuid))

    def files_to_sync(self):
        found = self.configs()
        return found[:1]

    def disklist(self):
        found = self.configs()
        if not found:
            return []
        try:
            with open(found[0]) as fh:
                return cfg_disks(fh.read())
        except OSError as exc:
            raise DriverError(f"can not read {found[0]}: {exc.strerror}") from None

    def status(self):
        self.status_notes = []
        value, log = super().status()
        return value, self.status_notes + log
