"""disk vg: an LVM volume group activated on this node (keyword `name`).

Start tags the vg with the node name (`vgchange --addtag @<node>`, as the 1.5 agent does, for
hosts whose lvm.conf `volume_list` activates only tagged vgs) then activates it; stop deactivates
then removes the tag. Status from the lv_attr of its logical volumes: all active up, none down,
some warn.
"""

from drivers.base import Driver

LVM_TIMEOUT = 120
# lvm prints "File descriptor N leaked" when its caller leaves fds open; we close them anyway
LVM_ENV = {"LVM_SUPPRESS_FD_WARNINGS": "1"}


def vg_status(lv_attrs: list[str]) -> tuple[str, list[str]]:
    """lv_attr strings (5th char `a` = active) -> (status, log)."""
    if not lv_attrs:
        return "n/a", ["no logical volumes"]
    active = [a for a in lv_attrs if len(a) > 4 and a[4] == "a"]
    if len(active) == len(lv_attrs):
        return "up", []
    if not active:
        return "down", []
    return "warn", [f"{len(active)}/{len(lv_attrs)} logical volumes active"]


class DiskVg(Driver):
    family = "disk"

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.name = str(self.conf.get("name") or self.conf.get("vgname") or "")

    def label(self) -> str:
        return f"vg {self.name}"

    def _lv_attrs(self):
        res = self.ctx.run(["lvs", "--noheadings", "-o", "lv_attr", "--", self.name], timeout=LVM_TIMEOUT,
                           check=False, quiet=True, env=LVM_ENV)
        if res.rc != 0:
            return None
        return [w.strip() for w in res.out.splitlines() if w.strip()]

    def status(self):
        attrs = self._lv_attrs()
        if attrs is None:
            return "down", [f"vg {self.name} not found"]
        return vg_status(attrs)

    def _vgchange(self, *args, check=True):
        return self.ctx.run(["vgchange", *args, "--", self.name], timeout=LVM_TIMEOUT, check=check,
                            env=LVM_ENV)

    def start(self):
        if self.status()[0] == "up":
            self.ctx.log.info(f"{self.label()} is already up")
            return
        # an existing tag makes --addtag fail on some lvm versions: not an error
        self._vgchange("--addtag", f"@{self.ctx.node.name}", check=False)
        self._vgchange("-a", "y")
        self.can_rollback = True

    def stop(self):
        if self.status()[0] == "down":
            self.ctx.log.info(f"{self.label()} is already down")
            return
        self._vgchange("-a", "n")
        self._vgchange("--deltag", f"@{self.ctx.node.name}", check=False)
