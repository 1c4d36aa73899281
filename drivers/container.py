"""The container sequence every VM technology shares (docs/agent-reference.md §5.5); drivers fill in the commands.

The executor drives the container machine and calls, in order:

    start()             conflict probe, then the technology's start command  (state `starting`)
    wait_up()           poll the up test        `wait for container up status` (state `wait-up`)
    wait_ping()         poll ping of the address `wait for container ping`     (state `wait-ping`)
    wait_operational()  poll the guest           `wait for container operational` (`wait-operational`)
    stop()              the technology's stop command                         (state `stopping`)
    wait_down()         poll the down test       `wait for container down status` (state `wait-down`)
    force_stop()        after a StopTimeout in wait_down                 (state `force-stopping`)

A technology driver subclasses Container and implements the hooks in the "technology" block:
`container_start`, `container_stop`, `container_forcestop`, `up_argv` + `parse_up` (the up test,
run here or on a peer through the node transport for the conflict probe), and where the reference
says so `operational`, `check_capabilities`, `check_manual_boot`, `files_to_sync`, `disklist`,
`runmethod`. Class attributes say what the sequence does: `pings` (False: no ping phase),
`remote_up` (False: no remote up test, so no other-node conflict probe).

Time is injected: `ctx.clock` (monotonic seconds) and `ctx.sleep`, so unit tests of the sequence
do not sleep. Poll intervals default to the reference's (2 s up, 1 s down);
`etc/node.conf` `[container] poll_interval` shortens both (simulated hypervisors, demos).
Timeouts: the `start_timeout` / `stop_timeout` keywords, whose defaults per type are the reference's
(domain.families.TIMEOUTS).
"""


from drivers.base import Driver, DriverError, StopTimeout
from drivers.ip import resolve  # noqa: F401 (also the containers' import point)
from domain.families import TIMEOUTS

UP_POLL = 2.0        # seconds between up / ping / operational probes (reference: 2 s)
DOWN_POLL = 1.0      # seconds between down probes (reference: 1 s)
PROBE_TIMEOUT = 30   # timeout of one up/down/operational probe command

# The 1.x Linux rsh (rcGlobalEnv): the default runmethod is this plus the container's name.
RSH = ["/usr/bin/ssh", "-q", "-o", "StrictHostKeyChecking=no", "-o", "ForwardX11=no", "-o", "BatchMode=yes",
       "-o", "ConnectTimeout=10"]
# The default operational check (docs/agent-reference.md §5.5), for ssh-based runmethods.
SSH_PWD = ["-o", "StrictHostKeyChecking=no", "-o", "ForwardX11=no", "-o", "BatchMode=yes", "-n",
           "-o", "ConnectTimeout=1"]

# Where each technology keeps its files. `etc/node.conf` [paths] overrides any of them, so tests and
# demos never touch the host's real paths.
PATHS = {
    "libvirt": "/etc/libvirt/qemu",         # kvm: <name>.xml, autostart/<name>.xml
    "xen": "/etc/xen",                      # ovm/xen: <uuid> config, auto/<uuid>
    "ovs": "/OVS/Repositories",             # OVM 3: */VirtualMachines/<uuid>/vm.cfg
    "ovs_mount": "/var/ovs/mount",          # OVM 2: */running_pool/<uuid>/vm.cfg (the seed's layout)
    "ovs_agent": "/etc/init.d/ovs-agent",   # hb.ovm: the OVM agent's init script
    "lxc": "/var/lib/lxc",                  # lxc: <name>/config
    "vz": "/etc/vz/conf",                   # vz: <ctid>.conf
    "hpvm": "/opt/hpvm/bin",                # hpvm commands
    "ldm": "/usr/sbin/ldm",
    "rsh": " ".join(RSH),                   # the runmethod's rsh (words)
}


def setting_path(node, key: str) -> str:
    return str(node.setting("paths", key, PATHS[key]))


class Container(Driver):
    family = "container"
    pings = True            # the sequence has a ping phase
    remote_up = True        # the up test can run on a peer (conflict probe across the pool)
    plumbs_ips = False      # zone only: the host plumbs the service's ips (others leave it to the guest)
    ping_count = 1

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.name = str(self.conf.get("name") or ctx.svcname)
        self.hostname = str(self.conf.get("hostname") or self.name)
        self.clock = ctx.clock
        self.sleep = ctx.sleep
        start_default, stop_default = TIMEOUTS.get(res.type, TIMEOUTS[""])
        self.start_timeout = float(self.conf.get("start_timeout") or start_default)
        self.stop_timeout = float(self.conf.get("stop_timeout") or stop_default)
        poll = ctx.node.setting("container", "poll_interval") if ctx.node is not None else None
        self.up_poll = float(poll) if poll else UP_POLL
        self.down_poll = float(poll) if poll else DOWN_POLL
        self._addr = None

    def label(self) -> str:
        return self.name

    def path(self, key: str) -> str:
        return setting_path(self.ctx.node, key)

    # --- technology hooks ---------------------------------------------------------------------
    def container_start(self) -> None:
        raise NotImplementedError

    def container_stop(self) -> None:
        raise NotImplementedError

    def container_forcestop(self) -> None:
        raise DriverError("no forced stop method")

    def up_argv(self) -> list:
        """The up test command (run here, or on a peer for the conflict probe)."""
        raise NotImplementedError

    def parse_up(self, result) -> bool:
        """Whether the up test's result says the container runs."""
        raise NotImplementedError

    def is_down(self) -> bool:
        return not self.is_up()

    def runmethod(self) -> list:
        """The command prefix that runs a command in the guest."""
        prefix = self.path("rsh").split()
        # ssh: `--` ends its options, so a guest name beginning with `-` is never read as one
        return prefix + (["--"] if prefix and prefix[0].endswith("ssh") else []) + [self.name]

    def operational(self) -> bool:
        """Can the guest run a command? Default: `ssh ... <name> pwd` (docs/agent-reference.md §5.5)."""
        method = self.runmethod()
        if method and method[0].endswith("ssh"):
            argv = [method[0], *SSH_PWD, "--", self.name, "pwd"]
        else:
            argv = [*method, "pwd"]
        return self.probe(argv).ok

    def check_capabilities(self) -> bool:
        return True

    def check_manual_boot(self) -> bool:
        """True when the hypervisor will not boot the guest by itself (what a cluster needs)."""
        return True

    def disklist(self) -> list:
        """A container lists its backing disks (none unless its technology says): diskupdate asks it."""
        return []

    # --- probes ---------------------------------------------------------------------------------
    def probe(self, argv, timeout=PROBE_TIMEOUT):
        """A quiet command (status probes are neither logged nor journaled)."""
        return self.ctx.run(argv, timeout=timeout, check=False, quiet=True)

    def is_up(self) -> bool:
        return self.parse_up(self.probe(self.up_argv()))

    def is_up_on(self, peer) -> bool:
        result = self.transport.run(self.ctx.run, peer, self.up_argv(), timeout=PROBE_TIMEOUT, check=False,
                                    quiet=True)
        return result.ok and self.parse_up(result)

    def rcmd(self, argv, **kw):
        """Run `argv` in the guest through the runmethod (logged and journaled)."""
        return self.ctx.run([*self.runmethod(), *argv], **kw)

    @property
    def addr(self) -> str:
        if self._addr is None:
            self._addr = resolve(self.hostname)
        return self._addr

    def ping(self) -> bool:
        argv = ["ping6" if ":" in self.addr else "ping", "-c", str(self.ping_count), "-W", "1", "-w", "1",
                self.addr]
        return self.probe(argv, timeout=5).ok

    def peers(self) -> list:
        """The other nodes of the pool (nodes, else drpnodes, the one this node belongs to)."""
        spec, me = self.ctx.spec, self.ctx.node.name
        if spec is None:
            return []
        nodes = list(spec.default.get("nodes") or [])
        drp = list(spec.default.get("drpnodes") or []) + list(spec.default.get("drpnode") or [])
        pool = drp if me in drp else nodes
        return [n for n in dict.fromkeys(pool) if n != me]

    def where_up(self) -> str | None:
        """The peer the container runs on, if any (needs a remote up test)."""
        if not self.remote_up:
            return None
        for peer in self.peers():
            try:
                if self.is_up_on(peer):
                    return peer
            except (DriverError, KeyError, OSError):
                continue       # an unreachable peer does not prove the container runs there
        return None

    # --- status ---------------------------------------------------------------------------------
    def status(self):
        log = []
        if not self.check_manual_boot():
            log.append("container auto boot is on")
        try:
            self.addr
        except DriverError as exc:
            return "warn", log + [str(exc)]
        if not self.check_capabilities():
            return "warn", log + ["insufficient node capabilities"]
        if self.is_up():
            return ("warn" if log else "up"), log
        if self.is_down():
            return ("warn" if log else "down"), log
        return "warn", log + ["container status is neither up nor down"]

    # --- the sequence ------------------------------------------------------------------------------
    def abort_start(self):
        """Refuse a start that would run the container twice (docs/agent-reference.md §5.5 abort_start)."""
        if self.is_up():
            return None
        peer = self.where_up()     # first: it names the node, the more useful message
        if peer is not None:
            return f"container {self.name} already started on {peer}"
        if self.pings and self.ping():
            return f"address {self.addr} is alive"
        return None

    def start(self):
        self.addr                  # an unresolvable name fails the start before any effect
        if self.is_up():
            self.ctx.log.info(f"container {self.name} already started")
            return
        reason = self.abort_start()
        if reason:
            raise DriverError(reason)
        self.container_start()
        self.can_rollback = True

    def _poll(self, message, test, every, timeout, error):
        from core.progress import Waiting

        self.ctx.log.info(message)
        deadline = self.clock() + timeout
        waiting = Waiting(message.removeprefix("wait for "), timeout, self.clock)   # a terminal's progress line
        while True:
            if test():
                return
            if self.clock() + every > deadline:
                raise error
            self.sleep(every)
            waiting.tick()

    def wait_up(self):
        self._poll("wait for container up status", self.is_up, self.up_poll, self.start_timeout,
                   DriverError("Waited too long for startup"))

    def wait_ping(self):
        if self.pings:
            self._poll("wait for container ping", self.ping, self.up_poll, self.start_timeout,
                       DriverError("Waited too long for startup"))

    def wait_operational(self):
        self._poll("wait for container operational", self.operational, self.up_poll, self.start_timeout,
                   DriverError("Waited too long for startup"))

    def stop(self):
        if self.is_down():
            self.ctx.log.info(f"container {self.name} already stopped")
            return
        self.container_stop()

    def wait_down(self):
        self._poll("wait for container down status", self.is_down, self.down_poll, self.stop_timeout,
                   StopTimeout("Waited too long for shutdown"))

    def force_stop(self):
        """After a wait_down timeout (the executor journals `force-stopping` first), then wait_down again."""
        self.ctx.log.warning("Waited too long for shutdown")
        self.container_forcestop()
