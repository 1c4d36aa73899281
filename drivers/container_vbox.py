"""container.vbox: a VirtualBox VM driven by `VBoxManage` (docs/agent-reference.md §6.1 vbox; b1.8 resContainerVbox.py).

    start         VBoxManage startvm <name>                     (when it is not running)
    stop          VBoxManage controlvm <name> acpipowerbutton   (the guest shuts down; the sequence's
                  wait-down allows stop_timeout, 240 s by default, then force-stops)
    force stop    VBoxManage controlvm <name> poweroff
    up test       <name> is in `VBoxManage list runningvms`     (lines `"<name>" {<uuid>}`)

Capabilities: `VBoxManage -v` answers. files_to_sync: CfgFile, SnapFldr and LogFldr of
`VBoxManage showvminfo --machinereadable <name>` (`key="value"` lines).
"""

from drivers.base import DriverError
from drivers.container import Container

VBOX_TIMEOUT = 60
PING_TIMEOUT = 5      # check_ping's default: the vbox driver pings without a timeout of its own
SYNC_KEYS = ("CfgFile", "SnapFldr", "LogFldr")


def parse_vms(text: str) -> list:
    """Names of `VBoxManage list vms|runningvms` lines: `"name" {uuid}`."""
    names = []
    for line in text.splitlines():
        parts = line.split('"')
        if len(parts) >= 3:
            names.append(parts[1])
    return names


def parse_machinereadable(text: str) -> dict:
    """`showvminfo --machinereadable`: `key="value"` (or key=value) lines -> {key: value}."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            info[key.strip().strip('"')] = value.strip().strip('"')
    return info


class Vbox(Container):

    def vbox(self, *args, timeout=VBOX_TIMEOUT):
        """A logged, journaled VBoxManage action (raises on failure)."""
        return self.ctx.run(["VBoxManage", *args], timeout=timeout)

    # --- the sequence's hooks -------------------------------------------------------------------
    def up_argv(self) -> list:
        return ["VBoxManage", "list", "runningvms"]

    def parse_up(self, result) -> bool:
        return result.ok and self.name in parse_vms(result.out)

    def ping(self) -> bool:
        argv = ["ping6" if ":" in self.addr else "ping", "-c", "1", "-W", str(PING_TIMEOUT),
                "-w", str(PING_TIMEOUT), self.addr]
        return self.probe(argv, timeout=PING_TIMEOUT + 5).ok

    def container_start(self):
        self.vbox("startvm", self.name, timeout=self.start_timeout)

    def container_stop(self):
        self.vbox("controlvm", self.name, "acpipowerbutton", timeout=self.stop_timeout)

    def container_forcestop(self):
        self.vbox("controlvm", self.name, "poweroff", timeout=self.stop_timeout)

    # --- status ---------------------------------------------------------------------------------
    def check_capabilities(self) -> bool:
        try:
            return self.probe(["VBoxManage", "-v"]).ok
        except DriverError:          # VBoxManage is not installed
            return False

    # --- files ----------------------------------------------------------------------------------
    def vminfo(self) -> dict | None:
        result = self.probe(["VBoxManage", "showvminfo", "--machinereadable", self.name])
        return parse_machinereadable(result.out) if result.ok else None

    def files_to_sync(self) -> list:
        info = self.vminfo()
        if info is None:
            return []
        return [info[key] for key in SYNC_KEYS if info.get(key)]
