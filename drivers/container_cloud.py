"""What the openstack and vcloud containers share (the reference's `CloudVm`, `b1.8:lib/resContainer
Openstack.py` and `resContainerVcloud.py`): the reference drove them with libcloud, we drive the
clouds' own CLIs, whose credentials are the CLIs' own (clouds.yaml / OS_CLOUD, `vcd login`).

- The cloud answers the same to every node: the up test is the VM's state word in the cloud, there is
  no per-node (remote) up test, so a VM running anywhere is "already started" here (reference).
- The address: the VM's address as the cloud lists it (the first that answers a ping when it has
  several), else `hostname` resolved; ping is false without one (reference getaddr).
- Guest commands (stop's `shutdown -h now`, the operational check `pwd`, the ip checks):
  `ssh -o StrictHostKeyChecking=no -o ForwardX11=no -o BatchMode=yes -n -o ConnectTimeout=5
  [-i <key file>] <addr> <command>`, the key file `<key_name>.pem` or `.pub` in the node's etc/ or
  var/ (reference keyfile); the ssh binary is the first word of `[paths] rsh`.
- Polls every 5 s (reference) unless `etc/node.conf [container] poll_interval` says otherwise.
- status: the VM's state word (up / down, absent = down); a cloud that does not answer (credentials,
  API down) makes it `warn` with the CLI's own message rather than a silent down.
"""

from drivers.base import DriverError
from drivers.container import Container, resolve

CLOUD_POLL = 5.0
COMMAND_TIMEOUT = 120
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "ForwardX11=no", "-o", "BatchMode=yes", "-n",
            "-o", "ConnectTimeout=5"]


def last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


class CloudVm(Container):
    remote_up = False       # the cloud is not per node: no remote up test, no "started on <node>"
    up_word = ""            # the CLI's state word of a running VM

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        if ctx.node is None or not ctx.node.setting("container", "poll_interval"):
            self.up_poll = CLOUD_POLL
        self._addr = None

    # --- technology hooks ---------------------------------------------------------------------------
    def vm_state(self) -> str | None:
        """The VM's state word, None when the cloud has no such VM; DriverError when it cannot say."""
        raise NotImplementedError

    def addresses(self) -> list:
        """The VM's addresses as the cloud lists them."""
        return []

    # --- state --------------------------------------------------------------------------------------
    def is_up(self) -> bool:
        try:
            return self.vm_state() == self.up_word
        except DriverError:
            return False

    def is_down(self) -> bool:
        try:
            return self.vm_state() != self.up_word
        except DriverError:
            return False            # unknown is not down: the stop waits, then forces

    def status(self):
        try:
            state = self.vm_state()
        except DriverError as exc:
            return "warn", [str(exc)]
        return ("up" if state == self.up_word else "down"), []

    # --- address, ping, guest -----------------------------------------------------------------------
    def _ping(self, addr) -> bool:
        argv = ["ping6" if ":" in addr else "ping", "-c", "1", "-W", "1", "-w", "1", addr]
        return self.probe(argv, timeout=5).ok

    @property
    def addr(self):
        if self._addr is not None:
            return self._addr
        try:
            candidates = self.addresses()
        except DriverError:
            candidates = []
        if len(candidates) == 1:
            self._addr = candidates[0]   # nothing to choose from
            return self._addr
        for ip in candidates:
            if self._ping(ip):
                self._addr = ip          # kept: the first pinging address (reference getaddr)
                return ip
        if candidates:
            return candidates[0]
        try:
            return resolve(self.hostname)
        except DriverError:
            return None

    def ping(self) -> bool:
        addr = self.addr
        return addr is not None and self._ping(addr)

    def keyfile(self) -> str | None:
        key = self.conf.get("key_name")
        if not key or self.ctx.node is None:
            return None
        folders = (self.ctx.node.etc, self.ctx.node.var)
        for folder in folders:
            for ext in (".pem", ".pub"):
                path = folder / f"{key}{ext}"
                if path.exists():
                    return str(path)
        raise DriverError(f"key file for key name '{key}' not found ({key}.pem or {key}.pub in "
                          f"{' or '.join(map(str, folders))})")

    def runmethod(self) -> list:
        addr = self.addr
        if addr is None:
            raise DriverError(f"no usable address to send commands to {self.name}")
        key = self.keyfile()
        return [self.path("rsh").split()[0], *SSH_OPTS, *(["-i", key] if key else []), addr]

    def windows(self) -> bool:
        return str(self.conf.get("guestos") or "").lower() == "windows"

    def operational(self) -> bool:
        if self.windows():
            return True             # no sshd in the guest (reference)
        try:
            return self.probe([*self.runmethod(), "pwd"]).ok
        except DriverError:
            return False

    def rcmd(self, argv, **kw):
        if self.windows():
            raise DriverError("remote commands not supported on Windows")
        kw.setdefault("timeout", COMMAND_TIMEOUT)
        return super().rcmd(argv, **kw)
