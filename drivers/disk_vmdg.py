"""disk vmdg: the disk group of a VM (docs/agent-reference.md §6.3).

Not a volume manager: its only job is to expose the VM's backing disks (`disklist()`) so that a
`scsireserv` companion (`<rid>pr`, `scsireserv = true`) can reserve them. Status is always n/a,
start and stop do nothing. The VM is the container named by `container_id` (the config layer fills
it in for a 1.5 bare `[vmdg]` of a one-container service, and adds `vmdg#<rid>` for hpvm containers).

Disks: the container driver's own `disklist()` (ldom: the VDS volumes of `ldm list-services -p`
that the domain's VDISKs use, as /dev/rdsk/...s2; hpvm: hpvmstatus -d; kvm: the libvirt XML...).
"""

from drivers.base import Driver, DriverError


class Vmdg(Driver):
    family = "disk"

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.container_id = str(self.conf.get("container_id") or "")
        self._container = None

    def label(self) -> str:
        return f"vmdg {self.res.rid}"

    def status(self):
        return "n/a", []

    def start(self):
        pass

    def stop(self):
        pass

    # --- the VM's disks ---------------------------------------------------------------------------
    def container(self):
        """The container's driver (`ctx.driver_of`)."""
        if self._container is None:
            if not self.container_id:
                raise DriverError(f"container_id must be set in section {self.res.rid}")
            try:
                drv = self.ctx.driver_of(self.container_id)
            except KeyError:
                raise DriverError(f"{self.res.rid}.container_id points to an invalid section") from None
            if drv is None:
                raise DriverError(f"{self.res.rid}: no driver for the container {self.container_id}")
            self._container = drv
        return self._container

    def disklist(self) -> list:
        return list(self.container().disklist())
