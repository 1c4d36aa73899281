"""container.esx: a VMware ESX guest driven by `vmware-cmd` (docs/agent-reference.md §6.1 esx; b1.8 resContainerEsx.py).

    vmx           `vmware-cmd -l` lists the registered .vmx files: the one ending in `/<name>.vmx`
    start         vmware-cmd <vmx> start
    stop          vmware-cmd <vmx> stop soft      (guest shutdown through the VMware tools)
    force stop    vmware-cmd <vmx> stop hard      (power off)
    up test       vmware-cmd <vmx> getstate  ->  `getstate() = on` (3 words, the last `on`)

Capabilities: `vmware-cmd` is on PATH. ESX boots its guests itself (no manual-boot check), and the
up test cannot run on a peer (no remote check: the conflict probe relies on ping alone).
`migrate` is declared by the 1.x agent but not implemented (it prints TODO): not offered here.
"""

import os
import shutil

from drivers.base import DriverError
from drivers.container import Container

VMCMD_TIMEOUT = 60


def find_vmx(listing: str, name: str) -> str | None:
    """The .vmx path of `vmware-cmd -l` whose file is `<name>.vmx` (the last one, as the agent)."""
    found = None
    for word in listing.split():
        if word.endswith(f"/{name}.vmx"):
            found = word
    return found


def parse_state(text: str) -> str | None:
    """`getstate() = on` -> "on" (None when the line is not the 3-word answer)."""
    words = text.split()
    return words[-1] if len(words) == 3 else None


class Esx(Container):
    remote_up = False        # reference: no remote check

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self._vmx = None

    def vmx(self) -> str:
        if self._vmx is None:
            result = self.probe(["vmware-cmd", "-l"])
            if not result.ok:
                raise DriverError(f"vmware-cmd -l failed (rc {result.rc}): {(result.err or result.out).strip()}")
            self._vmx = find_vmx(result.out, self.name)
            if self._vmx is None:
                raise DriverError(f"vm {self.name} not found on this node (no /{self.name}.vmx in vmware-cmd -l)")
        return self._vmx

    def vmcmd(self, *args, timeout=VMCMD_TIMEOUT):
        """A logged, journaled vmware-cmd action on this VM (raises on failure)."""
        return self.ctx.run(["vmware-cmd", self.vmx(), *args], timeout=timeout)

    # --- the sequence's hooks -------------------------------------------------------------------
    def up_argv(self) -> list:
        return ["vmware-cmd", self.vmx(), "getstate"]

    def parse_up(self, result) -> bool:
        return result.ok and parse_state(result.out) == "on"

    def is_up(self) -> bool:
        try:
            argv = self.up_argv()
        except DriverError:
            return False         # not registered here: not running here
        return self.parse_up(self.probe(argv))

    def container_start(self):
        self.vmcmd("start", timeout=self.start_timeout)

    def container_stop(self):
        self.vmcmd("stop", "soft", timeout=self.stop_timeout)

    def container_forcestop(self):
        self.vmcmd("stop", "hard", timeout=self.stop_timeout)

    # --- status ---------------------------------------------------------------------------------
    def check_capabilities(self) -> bool:
        return shutil.which("vmware-cmd", path=os.environ.get("PATH")) is not None

    def check_manual_boot(self) -> bool:
        return True              # ESX handles the guest's startup itself
