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
    ("sync", "btrfs"): "drivers.sync_btrfs:SyncBtrfs",
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
    return _load(spec)


# A driver whose mode depends on the service's other resources, not on (family, type) alone:
# (family, type) -> ("module:predicate(res, spec)", "module:Class") used instead when the predicate holds.
VARIANTS = {
    # a VM service's 1.5 launcher folder, in the guest's /svc/etc/init.d (docs/encapsulation-and-cluster.md §1.5)
    ("app", "*"): ("drivers.app_guest:in_guest_mode", "drivers.app_guest:AppGuest"),
}


def _load(spec):
    obj = _loaded.get(spec)
    if obj is None:
        module, name = spec.split(":")
        obj = _loaded[spec] = getattr(importlib.import_module(module), name)
    return obj


def driver_for(res, ctx):
    """A driver for one resource spec, or None when no driver handles its (family, type)."""
    variant = VARIANTS.get((res.family, res.type or "")) or VARIANTS.get((res.family, "*"))
    if variant is not None and _load(variant[0])(res, ctx.spec):
        return _load(variant[1])(res, ctx)
    cls = driver_class(res.family, res.type)
    return cls(res, ctx) if cls is not None else None


class ServiceDrivers:
    """How one resource's driver reaches the drivers of the service's other resources
    (`ctx.driver_of(rid)`): a scsireserv its disk holder, a vmdg its VM, the internal sync the
    containers whose files it copies.

    `shared` (rid -> Driver) first: the builder's own instances when it shares them
    (build_drivers(share=True)), or the fakes a test puts there. Else a new driver on the asking
    driver's context, so its commands run, log and journal under the asking resource's rid, and no
    instance is probed from two status threads at once."""

    def __init__(self, spec, shared=None):
        self.spec = spec
        self.shared = {} if shared is None else shared

    def driver_of(self, rid, ctx):
        drv = self.shared.get(rid)
        if drv is not None:
            return drv
        if self.spec is None:
            raise KeyError(rid)
        return driver_for(self.spec.resource(rid), ctx)


def build_drivers(node, spec, *, runners, loggers, opts=None, share=False, **settings):
    """rid -> Driver for every resource of `spec` this node acts on (encap ones live in the guest).

    `runners(rid)` and `loggers(rid)` give each resource its own command runner and logger, so its
    commands are logged under SVC.RID and journaled with its rid. `settings` are Context fields
    every driver gets (service_avail, clock, transport, timeouts...; an unknown name is a TypeError).
    `share`: a driver asking `ctx.driver_of(rid)` gets the instance built here instead of a new one
    (see ServiceDrivers)."""
    from drivers.base import Context

    drivers = {}
    peers = ServiceDrivers(spec, drivers if share else None)
    for res in spec.resources:
        if res.in_guest:
            continue
        ctx = Context(
            node=node, svcname=spec.name, log=loggers(res.rid), run=runners(res.rid).run,
            dry_run=bool(getattr(opts, "dry_run", False)), force=bool(getattr(opts, "force", False)),
            cluster=bool(getattr(opts, "cluster", False)), spec=spec, peers=peers, **settings,
        )
        drivers[res.rid] = driver_for(res, ctx)
    return drivers
