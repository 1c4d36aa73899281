"""container.ldom: a Sun/Oracle VM Server for SPARC logical domain (docs/agent-reference.md §6.1 ldom, §6.3 vmdg).

`ldm` is `[paths] ldm` (default /usr/sbin/ldm). A domain is `inactive` (defined), `bound` (resources
bound) or `active` (running); `ldm list -p <name>` says which (`DOMAIN|name=...|state=...|...`).

    start         inactive: ldm bind <name> + ldm start <name>;  bound: ldm start <name>
    stop          active: `<rsh> <name> /usr/sbin/init 5` (the guest powers off, the domain ends
                  `bound`), `wait for container shutdown` up to stop_timeout (240 s) for
                  inactive/bound, then ldm stop (if still active) + ldm unbind;  bound: ldm unbind
    force stop    ldm stop <name> (if active) + ldm unbind <name>
    up test       state == active (down: inactive; bound is neither)
    manual boot   ldm list-variable auto-boot? <name>: `auto-boot?=true` means auto boot is on
    capabilities  `ldm list` succeeds

The vmdg of an ldom service (docs/agent-reference.md §6.3) reserves the domain's disks: `vds_volumes()` maps the
virtual disk server volumes of `ldm list-services -p` to raw devices, `domain_volumes()` lists the
volumes `ldm list -o disk -p <domain>` attaches, and `disklist()` is their intersection.
"""

import re

from drivers.base import DriverError, StopTimeout
from drivers.container import Container

LDM_TIMEOUT = 120
PING_TIMEOUT = 5      # check_ping's default: the ldom driver pings without a timeout of its own


def parse_pairs(line: str) -> dict:
    """`KIND|k=v|k=v` -> {k: v} (the parseable `-p` format of ldm)."""
    pairs = {}
    for word in line.split("|")[1:]:
        key, sep, value = word.partition("=")
        if sep:
            pairs[key] = value
    return pairs


def parse_state(text: str) -> str | None:
    """The `state=` of the DOMAIN line of `ldm list -p <name>`."""
    for line in text.splitlines():
        if line.startswith("DOMAIN|"):
            return parse_pairs(line).get("state")
    return None


def raw_device(dev: str) -> str | None:
    """/dev/dsk/c0t1d0 -> /dev/rdsk/c0t1d0s2 (a whole-disk slice); non /dev/dsk backends -> None."""
    if not dev.startswith("/dev/dsk/"):
        return None
    dev = "/dev/rdsk/" + dev[len("/dev/dsk/"):]
    return dev if re.search(r"s[0-9]$", dev) else dev + "s2"


def parse_services(text: str) -> dict:
    """`ldm list-services -p` -> {"vol@vds": raw device}: a VDS line, then its `|vol=...|dev=...` lines."""
    volumes, vds = {}, ""
    for line in text.splitlines():
        if line.startswith("VDS|"):
            vds = parse_pairs(line).get("name", "")
        elif line.startswith("|") and vds:
            pairs = parse_pairs(line)
            dev = raw_device(pairs.get("dev", ""))
            if pairs.get("vol") and dev:
                volumes[f"{pairs['vol']}@{vds}"] = dev
        else:
            vds = ""
    return volumes


def parse_vdisks(text: str) -> list:
    """`ldm list -o disk -p <domain>` -> the `vol@vds` of each VDISK line."""
    return [parse_pairs(line)["vol"] for line in text.splitlines()
            if line.startswith("VDISK|") and parse_pairs(line).get("vol")]


class Ldom(Container):

    def ldm(self, *args) -> list:
        return [self.path("ldm"), *args]

    def _ldm(self, *args):
        """A logged, journaled ldm action (raises on failure)."""
        return self.ctx.run(self.ldm(*args), timeout=LDM_TIMEOUT)

    def state(self) -> str | None:
        """inactive / bound / active, or None when ldm does not know the domain."""
        result = self.probe(self.up_argv())
        return parse_state(result.out) if result.ok else None

    def _known_state(self) -> str:
        state = self.state()
        if state is None:
            raise DriverError(f"ldom {self.name}: `ldm list -p {self.name}` does not know this domain "
                              f"(check the name, or define it with ldm add-domain)")
        return state

    # --- the sequence's hooks -------------------------------------------------------------------
    def up_argv(self) -> list:
        return self.ldm("list", "-p", self.name)

    def parse_up(self, result) -> bool:
        return result.ok and parse_state(result.out) == "active"

    def is_down(self) -> bool:
        return self.state() == "inactive"

    def is_shutdown(self) -> bool:
        return self.state() in ("inactive", "bound")

    def ping(self) -> bool:
        argv = ["ping6" if ":" in self.addr else "ping", "-c", "1", "-W", str(PING_TIMEOUT),
                "-w", str(PING_TIMEOUT), self.addr]
        return self.probe(argv, timeout=PING_TIMEOUT + 5).ok

    def container_start(self):
        state = self._known_state()
        if state == "inactive":
            self._ldm("bind", self.name)
        if state in ("inactive", "bound"):
            self._ldm("start", self.name)

    def container_stop(self):
        state = self._known_state()
        if state == "inactive":
            return
        if state == "active":
            result = self.rcmd(["/usr/sbin/init", "5"], timeout=LDM_TIMEOUT, check=False)
            if result.ok:
                try:
                    self._poll("wait for container shutdown", self.is_shutdown, self.up_poll,
                               self.stop_timeout, StopTimeout("Waited too long for shutdown"))
                except StopTimeout:
                    self.ctx.log.warning(f"ldom {self.name} did not shut down in {self.stop_timeout:g} s: "
                                         f"stopping it with ldm")
        self.container_forcestop()

    def container_forcestop(self):
        if self.state() == "active":
            self._ldm("stop", self.name)
        self._ldm("unbind", self.name)

    # --- status ---------------------------------------------------------------------------------
    def check_capabilities(self) -> bool:
        try:
            return self.probe(self.ldm("list")).ok
        except DriverError:          # no ldm on this node
            return False

    def check_manual_boot(self) -> bool:
        try:
            result = self.probe(self.ldm("list-variable", "auto-boot?", self.name))
        except DriverError:       # no ldm here: the capabilities check says so
            return True
        if not result.ok:
            return True     # the domain's variables are unknown: no claim (the up test reports)
        for line in result.out.splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key == "auto-boot?":
                return value.strip().lower() != "true"
        return True

    # --- disks (the vmdg of docs/agent-reference.md §6.3) ---------------------------------------------------------
    def _listing(self, *args) -> str:
        argv = self.ldm(*args)
        result = self.probe(argv)
        if not result.ok:
            detail = (result.err or result.out).strip()
            raise DriverError(f"{' '.join(argv)} failed (rc {result.rc})" + (f": {detail}" if detail else ""))
        return result.out

    def vds_volumes(self) -> dict:
        """{"vol@vds": /dev/rdsk/...s2} of every virtual disk server volume backed by a disk."""
        return parse_services(self._listing("list-services", "-p"))

    def domain_volumes(self, domain: str | None = None) -> list:
        """The `vol@vds` the domain's virtual disks use."""
        return parse_vdisks(self._listing("list", "-o", "disk", "-p", domain or self.name))

    def disklist(self) -> list:
        volumes = self.vds_volumes()
        return sorted({volumes[vol] for vol in self.domain_volumes() if vol in volumes})
