"""ip (Linux host, native): an address plumbed on `ipdev` with iproute2 (docs/agent-reference.md §6.4).

Keywords: ipname (name or address), ipdev, netmask (prefix length `24` or dotted `255.255.255.0`).
Tags: `nonrouted` skips the conflict ping.

Guest mode (the VM cookbook): in a service with a container whose technology leaves ip plumbing to
the guest (every one but zone: `plumbs_ips` False), the address lives in the guest and the host
plumbs nothing. The container is the one named in the ip's tags, else the service's first non-encap
container. Then:
    status  the container is up here, `ping <addr>` answers, and `<runmethod> ip -o addr show dev
            <ipdev>` run in the guest (ssh, lxc-attach, zlogin... the container driver's `rcmd`)
            shows the address: up; neither: down; one of both: warn, saying which. Container not up
            here: down (the address may answer from the node that runs it: not ours to report).
    start   checks only: with the container up, the address must be on ipdev in the guest (else a
            clear error); with it down, the conflict ping, then an info line (the guest plumbs it).
    stop    a no-op with an info line.

Prefix when `netmask` is unset: the prefix of the device's address of the same family whose network
holds the new address, else of the device's first address of that family (what the 1.x agent does:
it copies the device's mask), else /32 (/128 for v6) — what `ip addr add` itself does with no
prefix, and the safe choice: a host address adds no route that could hijack a subnet.
"""

import ipaddress
import os
import re
import socket

from drivers.registry import driver_class
from drivers.base import Driver, DriverError

PING_TIMEOUT = 1          # seconds a conflict ping waits for an answer (`ping -W 1`)
DOWN_WAIT = 15            # seconds stop waits for the address to stop answering (1.8: 15)
DOWN_PING_TIMEOUT = 0.2   # per-try wait while checking an address went down
PROBE_TIMEOUT = 10        # timeout of quiet `ip` probes
GUEST_TIMEOUT = 30        # a command in the guest (ssh's own ConnectTimeout is 10 s)


def resolve(ipname: str) -> str:
    """The address for `ipname` (an address is returned as is)."""
    try:
        return str(ipaddress.ip_address(ipname))
    except ValueError:
        pass
    try:
        return socket.getaddrinfo(ipname, None)[0][4][0]
    except (socket.gaierror, IndexError, UnicodeError) as exc:
        raise DriverError(f"could not resolve name {ipname}: {exc}") from None


def netmask_prefix(netmask, version: int) -> int:
    """`24`, `255.255.255.0` or `ffff:...` -> prefix length."""
    text = str(netmask).strip()
    if text.isdigit():
        prefix = int(text)
    else:
        try:
            prefix = ipaddress.ip_network(f"0.0.0.0/{text}" if version == 4 else f"::/{text}").prefixlen
        except ValueError:
            prefix = -1
    if not 0 <= prefix <= (32 if version == 4 else 128):
        raise DriverError(f"bad netmask {netmask!r}: give a prefix length (24) or a dotted mask "
                          f"(255.255.255.0)")
    return prefix


def parse_addrs(text: str) -> list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]:
    """`ip -o addr show` lines -> interfaces (address with prefix)."""
    found = []
    for line in text.splitlines():
        words = line.split()
        for family in ("inet", "inet6"):
            if family in words:
                found.append(ipaddress.ip_interface(words[words.index(family) + 1]))
    return found


def parse_link_flags(text: str) -> set[str]:
    """`ip -o link show` -> the <FLAGS> set."""
    start, end = text.find("<"), text.find(">")
    return set(text[start + 1:end].split(",")) if 0 <= start < end else set()


class Ip(Driver):
    family = "ip"

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.ipname = str(self.conf.get("ipname", ""))
        self.ipdev = str(self.conf.get("ipdev", ""))
        self._addr = None
        self._free_checked = False    # abort_start pinged already: start does not ping twice
        self.container = guest_container(res, ctx)   # guest mode when set: the guest plumbs the ip

    # --- helpers ----------------------------------------------------------------------------
    @property
    def addr(self) -> str:
        if self._addr is None:
            self._addr = resolve(self.ipname)
        return self._addr

    def label(self) -> str:
        return f"{self.ipname}@{self.ipdev}"

    def _probe(self, argv, timeout=PROBE_TIMEOUT):
        return self.ctx.run(argv, timeout=timeout, check=False, quiet=True)

    def _dev_addrs(self):
        res = self._probe(["ip", "-o", "addr", "show", "dev", self.ipdev])
        return None if res.rc != 0 else parse_addrs(res.out)

    def _configured(self, addrs):
        ip = ipaddress.ip_address(self.addr)
        return next((i for i in addrs or () if i.ip == ip), None)

    def _answers(self, wait=PING_TIMEOUT) -> bool:
        return self._probe(["ping", "-c", "1", "-W", f"{wait:g}", "--", self.addr],
                           timeout=wait + 5).rc == 0

    def _prefix(self, addrs) -> int:
        ip = ipaddress.ip_address(self.addr)
        if self.conf.get("netmask") not in (None, ""):
            return netmask_prefix(self.conf["netmask"], ip.version)
        same_family = [i for i in addrs if i.version == ip.version and not i.ip.is_link_local]
        for iface in same_family:
            if ip in iface.network:
                return iface.network.prefixlen
        if same_family:
            return same_family[0].network.prefixlen
        return 32 if ip.version == 4 else 128

    def _check_dev(self):
        res = self._probe(["ip", "-o", "link", "show", "dev", self.ipdev])
        if res.rc != 0:
            raise DriverError(f"interface {self.ipdev} not found (check ipdev of {self.res.rid})")
        if "UP" not in parse_link_flags(res.out):
            raise DriverError(f"interface {self.ipdev} is down (bring it up first)")

    # --- status -----------------------------------------------------------------------------
    def status(self):
        if self.container is not None:
            return self._guest_status()
        try:
            addrs = self._dev_addrs()
            if addrs is None:
                return "down", [f"interface {self.ipdev} not found"]
            return ("up", []) if self._configured(addrs) else ("down", [])
        except DriverError as exc:
            return "warn", [str(exc)]

    # --- actions ----------------------------------------------------------------------------
    def abort_start(self):
        if self.container is not None:
            if "nonrouted" in self.res.tags or self.container.is_up():
                return None
        elif "nonrouted" in self.res.tags or self._configured(self._dev_addrs()):
            return None
        self.ctx.log.info(f"checking {self.addr} availability")
        self._free_checked = True
        if self._answers():
            return f"{self.addr} is already up on another host"
        return None

    def start(self):
        if self.container is not None:
            return self._guest_start()
        addrs = self._dev_addrs()
        if self._configured(addrs):
            self.ctx.log.info(f"{self.addr} is already up on {self.ipdev}")
            return
        self._check_dev()
        if not self._free_checked:
            reason = self.abort_start()
            if reason:
                raise DriverError(reason)
        prefix = self._prefix(addrs or [])
        self.ctx.run(["ip", "addr", "add", f"{self.addr}/{prefix}", "dev", self.ipdev], timeout=30)
        # a start that did not produce its effect is not `up`: the address must now be on the interface
        if self._configured(self._dev_addrs()) is None:
            raise DriverError(f"ip addr add exited 0 but {self.addr} is not on {self.ipdev}")
        self.can_rollback = True
        self._announce()

    def _announce(self):
        argv = arping_argv(self.ipdev, self.addr, self._arping_flavour())
        if argv:
            # gratuitous ARP: nobody answers it, so a non-zero rc is normal and not an error
            self.ctx.run(argv, timeout=10, check=False)

    def _arping_flavour(self):
        key = os.environ.get("PATH", "")
        if key not in _ARPING:          # one probe per process and PATH
            _ARPING[key] = detect_arping(self._probe)
        return _ARPING[key]

    def stop(self):
        if self.container is not None:
            self.ctx.log.info(f"{self.addr} on {self.ipdev} is left to the guest of container "
                              f"{self.container.name}: nothing to stop on the host")
            return
        iface = self._configured(self._dev_addrs())
        if iface is None:
            self.ctx.log.info(f"{self.addr} is already down on {self.ipdev}")
            return
        self.ctx.run(["ip", "addr", "del", str(iface), "dev", self.ipdev], timeout=30)
        wait = self.ctx.timeouts.ip_down_wait
        deadline = self.ctx.clock() + (DOWN_WAIT if wait is None else wait)
        while self._answers(DOWN_PING_TIMEOUT):
            if self.ctx.clock() > deadline:
                raise DriverError(f"{self.addr} refuse to go down")
            self.ctx.sleep(DOWN_PING_TIMEOUT)

    # --- guest mode -------------------------------------------------------------------------
    def _in_guest(self, quiet=True) -> bool:
        """Does `ip -o addr show dev <ipdev>`, run in the guest, show the address?"""
        res = self.container.rcmd(["ip", "-o", "addr", "show", "dev", self.ipdev], timeout=GUEST_TIMEOUT,
                                  check=False, quiet=quiet)
        if not res.ok:
            lines = (res.err or res.out).strip().splitlines()
            raise DriverError(f"can not check {self.addr} on {self.ipdev} in container {self.container.name}: "
                              f"rc {res.rc}" + (f": {lines[-1].strip()}" if lines else ""))
        return self._configured(parse_addrs(res.out)) is not None

    def _guest_status(self):
        name, nonrouted = self.container.name, "nonrouted" in self.res.tags
        try:
            if not self.container.is_up():
                return "down", []
            pings = not nonrouted and self._answers()
            there = self._in_guest()
        except DriverError as exc:
            return "warn", [str(exc)]
        if there and (pings or nonrouted):      # a nonrouted address: the guest's word is all we have
            return "up", []
        if there:
            return "warn", [f"{self.addr} is on {self.ipdev} in container {name} but does not answer ping"]
        if pings:
            return "warn", [f"{self.addr} answers ping but is not on {self.ipdev} in container {name}"]
        return "down", []

    def _guest_start(self):
        name = self.container.name
        if not self.container.is_up():
            if not self._free_checked:
                reason = self.abort_start()
                if reason:
                    raise DriverError(reason)
            self.ctx.log.info(f"{self.addr} on {self.ipdev} is plumbed by the guest of container {name}: "
                              f"nothing to do on the host")
            return
        if not self._in_guest(quiet=False):
            raise DriverError(f"{self.addr} is not on {self.ipdev} in container {name}: the guest plumbs "
                              f"its addresses, check its network configuration")
        self.ctx.log.info(f"{self.addr} is up on {self.ipdev} in container {name}")


def guest_container(res, ctx):
    """The container driver whose guest plumbs this ip, or None (host mode).

    The container named in the ip's tags, else the service's first non-encap container; None when
    there is none or its technology has the host plumb the ips (zone). Its commands run with the
    ip's runner, so they are logged and journaled under the ip's rid."""
    spec = ctx.spec
    if spec is None:
        return None
    containers = [r for r in spec.resources if r.family == "container" and not r.in_guest]
    tagged = [r for r in containers if r.rid in res.tags]
    if not (tagged or containers):
        return None
    cres = (tagged or containers)[0]
    cls = driver_class("container", cres.type)
    if cls is None or cls.plumbs_ips:
        return None
    return cls(cres, ctx)


_ARPING = {}              # PATH -> detected arping flavour

# arping flavours: how each one sends one unsolicited (gratuitous) ARP for addr on dev
ARPING_ARGV = {
    "iputils": lambda dev, addr: ["arping", "-U", "-c", "1", "-I", dev, "-s", addr, "--", addr],
    "habets": lambda dev, addr: ["arping", "-U", "-c", "1", "-i", dev, "-S", addr, "--", addr],
}


def arping_argv(dev, addr, flavour):
    """The gratuitous-ARP command for the installed arping flavour, or None (no arping, or v6)."""
    if flavour not in ARPING_ARGV or ":" in addr:
        return None
    return ARPING_ARGV[flavour](dev, addr)


def detect_arping(probe) -> str:
    """'iputils' (iputils-arping: Debian/RHEL default), 'habets' (package arping) or 'none'."""
    try:
        res = probe(["arping", "-h"], timeout=5)
    except DriverError:         # not installed
        return "none"
    text = res.out + res.err
    if "Habets" in text:
        return "habets"
    if re.search(r"-I\s*<?(device|interface)", text) or "iputils" in text:
        return "iputils"
    return "none"
