"""container.xen: a Xen guest driven through libvirt's virsh (docs/agent-reference.md §6.1).

    start      virsh define <var>/<name>.xml when that file exists (the agent's copy), virsh start <name>
    stop       virsh shutdown <name>;  force stop: virsh destroy <name>
    up test    virsh dominfo <name>: State `running` or `idle` (a Xen domain at rest is blocked: idle)
    status     capabilities: `virsh capabilities` answers; auto boot from dominfo `Autostart:`
    disks      the <disk><source dev=...> of that XML

<var> is the node's var folder (the 1.x agent's /opt/opensvc/var).
"""

import os

from drivers.container_kvm import Virsh, xml_disks


def dominfo_fields(text) -> dict:
    """`virsh dominfo` as {key: value} (`State:          shut off` -> {'State': 'shut off'})."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


class Xen(Virsh):
    up_words = ("running", "idle")

    @property
    def cf(self) -> str:
        return os.path.join(str(self.ctx.node.var), f"{self.name}.xml")

    def container_start(self):
        if os.path.exists(self.cf):
            self.virsh("define", self.cf)
        super().container_start()

    def check_capabilities(self):
        if not self.probe(["virsh", "capabilities"]).ok:
            self.status_notes.append("can not fetch capabilities")
            return False
        return True

    def check_manual_boot(self):
        """Manual boot unless dominfo says `Autostart: enable` (an unknown domain boots nothing)."""
        result = self.probe(["virsh", "dominfo", self.name])
        if not result.ok:
            return True
        return dominfo_fields(result.out).get("Autostart", "disable") == "disable"

    def files_to_sync(self):
        return [self.cf] if os.path.exists(self.cf) else []

    def disklist(self):
        return xml_disks(self.cf) if os.path.exists(self.cf) else []
