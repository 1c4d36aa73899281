"""disk vmdg: the disk group of a VM (reference §6.3).

Not a volume manager: its only job is to expose the VM's backing disks (`disklist()`) so that a
`scsireserv` companion (`<rid>pr`, `scsireserv = true`) can reserve them. Status is always n/a,
start and stop do nothing. The VM is the container named by `container_id` (the config layer fills
it in for a 1.5 bare `[vmdg]` of a one-container service, and adds `vmdg#<rid>` for hpvm containers).

Disks:
- ldom: the vds volumes exported to the domain, `ldm list-services -p` (VDS volumes, /dev/dsk paths
  turned into /dev/rdsk/...s2) intersected with `ldm list -o disk -p <domain>` (its VDISKs);
- any other technology: the container driver's own `disklist()` (hpvm: hpvmstatus -d, kvm: the
  libvirt XML...).
"""

import re

from drivers.base import Driver, DriverError

LDM_TIMEOUT = 60


def ldm_fields(line) -> dict:
    """`VDISK|name=vdisk0|vol=v0@primary-vds0|...` -> {'name': 'vdisk0', 'vol': 'v0@primary-vds0', ...}."""
    out = {}
    for item in line.split("|")[1:]:
        key, eq, value = item.partition("=")
        if eq and key not in out:       # a VDS line's first name= is the service's
            out[key] = value
    return out


def ldm_volumes(services_out) -> dict:
    """`ldm list-services -p` -> {'<vol>@<vds>': '/dev/rdsk/...s2'} for volumes backed by /dev/dsk disks.

    Volume lines follow their VDS line and start with `|`:
        VDS|name=primary-vds0|ldom=primary
        |vol=ldg1-vol0|opts=|dev=/dev/dsk/c0t1d0s2|mpgroup=
    """
    volumes, vds = {}, ""
    for line in services_out.splitlines():
        if line.startswith("VDS|"):
            vds = ldm_fields(line).get("name", "")
        elif line.startswith("|") and vds:
            fields = ldm_fields(line)
            dev = fields.get("dev", "")
            if not fields.get("vol") or not dev.startswith("/dev/dsk/"):
                continue
            dev = dev.replace("/dev/dsk/", "/dev/rdsk/", 1)
            if not re.search(r"s[0-9]$", dev):
                dev += "s2"
            volumes[f"{fields['vol']}@{vds}"] = dev
        else:
            vds = ""
    return volumes


def ldm_disks(services_out, domain_disks_out) -> list:
    """The domain's disks: its VDISK volumes (`ldm list -o disk -p <domain>`) that a VDS exports."""
    volumes = ldm_volumes(services_out)
    disks = []
    for line in domain_disks_out.splitlines():
        if line.startswith("VDISK|"):
            dev = volumes.get(ldm_fields(line).get("vol", ""))
            if dev and dev not in disks:
                disks.append(dev)
    return disks


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
    def container_res(self):
        if not self.container_id:
            raise DriverError(f"container_id must be set in section {self.res.rid}")
        try:
            return self.ctx.spec.resource(self.container_id)
        except (AttributeError, KeyError):
            raise DriverError(f"{self.res.rid}.container_id points to an invalid section") from None

    def container(self):
        """The container's driver: the caller's instance when shared (`ctx.extra['drivers']`), else built."""
        if self._container is None:
            drv = (self.ctx.extra.get("drivers") or {}).get(self.container_id)
            if drv is None:
                from engine.runtime import driver_for

                drv = driver_for(self.container_res(), self.ctx)
                if drv is None:
                    raise DriverError(f"{self.res.rid}: no driver for the container {self.container_id}")
            self._container = drv
        return self._container

    def disklist(self) -> list:
        res = self.container_res()
        if res.type == "ldom":
            return self.ldom_disks(str(res.conf.get("name") or self.ctx.svcname))
        return list(self.container().disklist())

    def ldom_disks(self, domain) -> list:
        from drivers.container import setting_path

        ldm = setting_path(self.ctx.node, "ldm")
        services = self.ctx.run([ldm, "list-services", "-p"], timeout=LDM_TIMEOUT, check=False, quiet=True)
        if not services.ok:
            raise DriverError(f"{ldm} list-services -p failed (rc {services.rc}): {services.err.strip()}")
        domain_disks = self.ctx.run([ldm, "list", "-o", "disk", "-p", domain], timeout=LDM_TIMEOUT, check=False,
                                    quiet=True)
        if not domain_disks.ok:
            raise DriverError(f"{ldm} list -o disk -p {domain} failed (rc {domain_disks.rc}): "
                              f"{domain_disks.err.strip()}")
        return ldm_disks(services.out, domain_disks.out)
