"""CLI simulators of the hypervisors and SAN tools that cannot run here (DESIGN: real over fake).

Each simulated command is a symlink in `simulators/bin/` to the one dispatcher `_sim`, which runs
the entry point this table names for its basename. Put `simulators/bin` first on PATH (tests and
the demo do) and the drivers run their real command lines against them. State: simulators.core.

Simulators print what the real CLIs print (same columns, same words), take time to boot and shut
down, keep state across calls and nodes, and fail, hang or crash on demand (`vmsim fail`).
"""

# command basename -> "module:function" taking argv (without the command name), returning rc
COMMANDS = {
    "vmsim": "simulators.vmsim:main",
    "ssh": "simulators.guest:ssh_main",
    # kvm, xen (libvirt) and ovm (xm), the OVM manager and its agent's init script
    "virsh": "simulators.libvirt:virsh_main",
    "xm": "simulators.xen:xm_main",
    "ovm": "simulators.ovm_manager:ovm_main",
    "ovs-agent": "simulators.ovm_manager:agent_main",
    # SAN: SCSI-3 persistent reservations
    "sg_persist": "simulators.sg_persist:main",
    # other hypervisors
    "vmware-cmd": "simulators.esx:main",
    "hpvmstart": "simulators.hpvm:start_main",
    "hpvmstop": "simulators.hpvm:stop_main",
    "hpvmstatus": "simulators.hpvm:status_main",
    "hpvmmigrate": "simulators.hpvm:migrate_main",
    "hpvmdevmgmt": "simulators.hpvm:devmgmt_main",
    "ldm": "simulators.ldom:ldm_main",
    "VBoxManage": "simulators.vbox:main",
    "zoneadm": "simulators.zone:zoneadm_main",
    "zonecfg": "simulators.zone:zonecfg_main",
    "zlogin": "simulators.zone:zlogin_main",
    "svcs": "simulators.zone:svcs_main",
    "vzctl": "simulators.vz:main",
    "srp": "simulators.srp:srp_main",
    "srp_su": "simulators.srp:srp_su_main",
    "jail": "simulators.jail:jail_main",
    "jls": "simulators.jail:jls_main",
    "docker": "simulators.docker:main",
    "openstack": "simulators.openstack:main",
    "vcd": "simulators.vcloud:main",
}
