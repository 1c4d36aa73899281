"""container.srp: an HP-UX Secure Resource Partition (docs/agent-reference.md §6.1 srp row, b1.8 resContainerSrp).

    start      srp -start <name>
    stop       srp -stop <name>;  no force stop (error `no forced stop method`)
    up test    srp -status <name>: its 2nd line `NAME TYPE STATE SUBTYPE ROOTPATH`, state `started`
               (down: `stopped`; `starting`/`stopping` are neither)
    ping       none; operational: srp_su <name> root -c pwd
    status     capabilities: `srp` on PATH; auto boot on when `srp -list <name> -v` says the init
               service's autostart is 1/yes
    sync       files_to_sync: the export <var>/<name>.xml, written by the presync command
               (`srp -batch -export <name> -xfile <f>`) and imported on the target by the postsync
               command (`srp -batch -import -xfile <f> allow_sw_mismatch=yes autostart=no`)
"""

import shutil

from drivers.base import DriverError
from drivers.container import Container

STATUS_FIELDS = ("name", "type", "state", "subtype", "rootpath")


def parse_status(text, name) -> dict | None:
    """The 2nd line of `srp -status <name>` as a dict, when it is this SRP's 5-field line."""
    lines = text.splitlines()
    if len(lines) < 2:
        return None
    fields = lines[1].split()
    if len(fields) != len(STATUS_FIELDS) or fields[0] != name:
        return None
    return dict(zip(STATUS_FIELDS, fields))


def parse_list(text) -> dict:
    """`srp -list <name> -v` as {'<service>.<key>': value} (`Service: init` ... `autostart=1`)."""
    data, service = {}, ""
    words = text.split()
    for i, word in enumerate(words):
        if word == "Service:" and i + 1 < len(words):
            service = words[i + 1]
        elif "=" in word:
            key, _, value = word.partition("=")
            data[f"{service}.{key}"] = value
    return data


class Srp(Container):
    pings = False

    @property
    def export_file(self):
        return self.ctx.node.var / f"{self.name}.xml"

    def srp(self, *args, timeout=300):
        return self.ctx.run(["srp", *args], timeout=timeout)

    # --- technology hooks -----------------------------------------------------------------------
    def container_start(self):
        self.srp("-start", self.name)

    def container_stop(self):
        self.srp("-stop", self.name)

    def up_argv(self):
        return ["srp", "-status", self.name]

    def state(self, result) -> str | None:
        status = parse_status(result.out, self.name) if result.ok else None
        return status["state"] if status else None

    def parse_up(self, result):
        return self.state(result) == "started"

    def is_down(self):
        return self.state(self.probe(self.up_argv())) == "stopped"

    def runmethod(self):
        return ["srp_su", self.name, "root", "-c"]

    def check_capabilities(self):
        return shutil.which("srp") is not None

    def check_manual_boot(self):
        try:
            result = self.probe(["srp", "-list", self.name, "-v"])
        except DriverError:      # srp not installed: check_capabilities says so
            return True
        if not result.ok:
            return True          # unreadable settings prove nothing: no warning
        return parse_list(result.out).get("init.autostart") not in ("1", "yes")

    def files_to_sync(self):
        return [str(self.export_file)]

    # --- sync (presync here, postsync on the target node) ---------------------------------------
    def presync_argv(self):
        return ["srp", "-batch", "-export", self.name, "-xfile", str(self.export_file)]

    def postsync_argv(self):
        return ["srp", "-batch", "-import", "-xfile", str(self.export_file), "allow_sw_mismatch=yes",
                "autostart=no"]

    def presync(self):
        self.ctx.run(self.presync_argv(), timeout=300)

    def postsync(self):
        if not self.export_file.is_file():
            raise DriverError(f"{self.export_file} does not exist: run the sync from the node the srp "
                              f"{self.name} runs on")
        self.ctx.run(self.postsync_argv(), timeout=300)
