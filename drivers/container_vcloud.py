"""vCloud Director VMs (docs/agent-reference.md §6.1, vcloud row) through VMware's vcd-cli (`vcd`).

The reference POSTed `<vm href>/power/action/<op>` for the VM `name` of the vApp `vapp`; vcd-cli's
commands on one VM of a vApp are the same operations:

    up          `vcd -j vm info <vapp> <name>` says `"status": "Powered on"` (libcloud's state 0)
    start       `vcd --no-wait vm power-on <vapp> <name>`   (log `power on container <name>`)
    stop        `vcd --no-wait vm shutdown <vapp> <name>`   (guest shutdown; `shutdown container <name>`)
    force stop  `vcd --no-wait vm power-off <vapp> <name>`  (`power off container <name>`)

`--no-wait`: vcd returns the task at once and the engine's wait phases poll the VM's status (every
5 s as the reference, 240 s start / 120 s stop), so a power-on that never completes is a wait-up
timeout like every other technology. `--no-colorized` keeps ANSI colours out of the logs.
Credentials: vcd's own session (`vcd login <host> <org> <user> --vdc <vdc>` on each node).
"""

import json

from drivers.base import DriverError
from drivers.container_cloud import COMMAND_TIMEOUT, CloudVm, last_line

NOT_FOUND = ("Can't find VM", "not found")


class Vcloud(CloudVm):
    up_word = "Powered on"

    def vapp(self) -> str:
        vapp = self.conf.get("vapp")
        if not vapp:
            raise DriverError(f"{self.res.rid}: vapp is not set: the vApp holding VM {self.name}")
        return str(vapp)

    def vcd(self, *args) -> list:
        return ["vcd", "--no-colorized", *args]

    def info(self) -> dict | None:
        """vcd's view of the VM (pyvcloud vm_to_dict), None when the vApp or the VM does not exist."""
        res = self.probe(self.vcd("-j", "vm", "info", self.vapp(), self.name), timeout=COMMAND_TIMEOUT)
        try:
            doc = json.loads(res.out)
        except ValueError:
            doc = {}
        if res.ok and isinstance(doc, dict) and "error" not in doc:
            return doc
        message = str(doc.get("error") if isinstance(doc, dict) and doc.get("error") else
                      last_line(res.err) or last_line(res.out) or f"vcd vm info: rc {res.rc}")
        if any(word in message for word in NOT_FOUND):
            return None
        raise DriverError(message)

    def vm_state(self):
        info = self.info()
        return None if info is None else info.get("status")

    def addresses(self) -> list:
        info = self.info() or {}
        nics = sorted((k for k, v in info.items() if k.startswith("nic-") and isinstance(v, dict)),
                      key=lambda k: (k != info.get("primary-nic"), k))
        return [info[k]["ip"] for k in nics if info[k].get("ip")]

    def power(self, message, op):
        self.ctx.log.info(f"{message} container {self.name}")
        self.ctx.run(self.vcd("--no-wait", "vm", op, self.vapp(), self.name), timeout=COMMAND_TIMEOUT)

    def container_start(self):
        self.power("power on", "power-on")

    def container_stop(self):
        self.power("shutdown", "shutdown")

    def container_forcestop(self):
        self.power("power off", "power-off")
