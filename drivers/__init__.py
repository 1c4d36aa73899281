"""Resource drivers: which class handles which (family, type), imported only when used.

    cls = driver_class("fs", "ext4")      # -> drivers.fs.Fs
    drv = cls(resource_spec, context)

Lookup: the exact (family, type) first, then (family, "*") — the family's catch-all (fs types are
mount types: ext4, xfs, tmpfs... one driver handles them all). Unknown -> None (the config layer
refuses the section, the engine shows the resource n/a).
"""

import importlib

# (family, type) -> "module:Class". type "" is the section without a `type` keyword.
DRIVERS = {
    # --- ip ---------------------------------------------------------------------------------
    ("ip", ""): "drivers.ip:Ip",
    ("ip", "linux"): "drivers.ip:Ip",
    # --- fs: type is the mount type ---------------------------------------------------------
    ("fs", "*"): "drivers.fs:Fs",
    # --- disk -------------------------------------------------------------------------------
    ("disk", "loop"): "drivers.disk_loop:DiskLoop",
    ("disk", "vg"): "drivers.disk_vg:DiskVg",
    ("disk", "lvm"): "drivers.disk_vg:DiskVg",
    # --- app: 1.5 launcher folder ([app]) and 1.8 script form ([app#N] script=...) ------------
    ("app", "*"): "drivers.app:App",
    # --- sync -------------------------------------------------------------------------------
    ("sync", ""): "drivers.sync_rsync:SyncRsync",
    ("sync", "rsync"): "drivers.sync_rsync:SyncRsync",
    # --- container: one module per technology, all on drivers.container.Container --------------
    ("container", "kvm"): "drivers.container_kvm:Kvm",
    ("container", "xen"): "drivers.container_xen:Xen",
    ("container", "ovm"): "drivers.container_ovm:Ovm",
    ("container", "docker"): "drivers.container_docker:Docker",
    ("container", "lxc"): "drivers.container_lxc:Lxc",
    ("container", "esx"): "drivers.container_esx:Esx",
    ("container", "hpvm"): "drivers.container_hpvm:Hpvm",
    ("container", "ldom"): "drivers.container_ldom:Ldom",
    ("container", "vbox"): "drivers.container_vbox:Vbox",
    ("container", "zone"): "drivers.container_zone:Zone",
    ("container", "vz"): "drivers.container_vz:Vz",
    ("container", "srp"): "drivers.container_srp:Srp",
    ("container", "jail"): "drivers.container_jail:Jail",
    ("container", "openstack"): "drivers.container_openstack:Openstack",
    ("container", "vcloud"): "drivers.container_vcloud:Vcloud",
    # --- hb ---------------------------------------------------------------------------------
    ("hb", "ovm"): "drivers.hb_ovm:HbOvm",
    # --- SCSI-3 reservations and the VM disk group ---------------------------------------------
    ("disk", "scsireserv"): "drivers.disk_scsireserv:ScsiReserv",
    ("disk", "vmdg"): "drivers.disk_vmdg:Vmdg",
}

_loaded = {}


def driver_class(family: str, type: str = ""):
    """The driver class for (family, type), imported on first use; None when there is none."""
    spec = DRIVERS.get((family, type or "")) or DRIVERS.get((family, "*"))
    if spec is None:
        return None
    cls = _loaded.get(spec)
    if cls is None:
        module, name = spec.split(":")
        cls = _loaded[spec] = getattr(importlib.import_module(module), name)
    return cls
