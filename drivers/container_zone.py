"""container.zone: a Solaris zone (docs/agent-reference.md §6.1 zone row, b1.8 resContainerZone).

    start      attach: `zonecfg -z <z> -f <cfg>` when this node has no configuration for the zone
               (the export a previous stop left, see below), `zoneadm -z <z> attach` (retried as
               `attach -F`) unless already installed; `zoneadm -z <z> ready` unless ready or
               running; `zoneadm -z <z> boot`
    wait       up test `zoneadm -z <z> list -p` (`id:name:state:path:uuid:brand:ip-type`, state
               field == running); no ping phase (the reference driver has none); operational
               `zlogin -S <z> pwd`, then the multi-user milestone:
               `zlogin -S <z> svcs -H -o state svc:/milestone/multi-user:default` == online
    stop       export the configuration (`zonecfg -z <z> export -f <var>/<svc>/zonecfg/<z>.cfg`, what
               another node's start imports), `zlogin <z> /sbin/init 0` (a ready zone: `zoneadm halt`),
               wait for `installed`; force stop `zoneadm -z <z> halt`; once installed,
               `zoneadm -z <z> detach`, and `zonecfg -z <z> delete -F` with delete_on_stop
    runmethod  zlogin -S <z>
    sync       files_to_sync: the configuration export

A zone's ip addresses are the host's (`plumbs_ips`): the service's ip resources plumb them on the
global zone. The reference also starts, between `ready` and `boot`, the ips tagged with the zone
name, and after `boot` the scsireserv/zpool/fs resources tagged with it (reverse order on stop);
here those are ordinary resources ordered by the executor (containers first on start, last on stop).
"""

from drivers.base import DriverError, StopTimeout
from drivers.container import Container

MULTI_USER = "svc:/milestone/multi-user:default"
HALTED = ("installed", "configured", None)     # a zone without a running kernel context
LIST_FIELDS = ("id", "name", "state", "path", "uuid", "brand", "iptype")
CMD_TIMEOUT = 300                                # zoneadm attach/boot of a big zone take minutes


def parse_list(text, name) -> dict | None:
    """The `zoneadm -z <z> list -p` line of zone `name` as a dict (7 fields; Solaris 11 adds 2-3)."""
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) >= len(LIST_FIELDS) and fields[1] == name:
            return dict(zip(LIST_FIELDS, fields))
    return None


def truthy(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "1", "on")


class Zone(Container):
    pings = False          # reference: no ping method; the zone's ips are plumbed by the host
    plumbs_ips = True

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.delete_on_stop = truthy(self.conf.get("delete_on_stop", False))

    # --- probes ---------------------------------------------------------------------------------
    def up_argv(self):
        return ["zoneadm", "-z", self.name, "list", "-p"]

    def parse_up(self, result):
        zone = parse_list(result.out, self.name) if result.ok else None
        return zone is not None and zone["state"] == "running"

    def zone_state(self) -> str | None:
        """The zone's state here (None: no such zone configured on this node)."""
        result = self.probe(self.up_argv())
        zone = parse_list(result.out, self.name) if result.ok else None
        return zone["state"] if zone else None

    def is_halted(self) -> bool:
        return self.zone_state() in HALTED

    def runmethod(self):
        return ["zlogin", "-S", self.name]

    def multi_user(self) -> bool:
        result = self.probe([*self.runmethod(), "svcs", "-H", "-o", "state", MULTI_USER])
        return result.ok and result.out.strip().splitlines()[:1] == ["online"]

    @property
    def cfg_path(self):
        return self.ctx.node.svc_var(self.ctx.svcname) / "zonecfg" / f"{self.name}.cfg"

    def files_to_sync(self):
        """The configuration export: replicated so another node can configure the zone (delete_on_stop)."""
        return [str(self.cfg_path)]

    # --- commands --------------------------------------------------------------------------------
    def zoneadm(self, *args, check=True):
        return self.ctx.run(["zoneadm", "-z", self.name, *args], timeout=CMD_TIMEOUT, check=check)

    def zonecfg(self, *args, check=True):
        return self.ctx.run(["zonecfg", "-z", self.name, *args], timeout=CMD_TIMEOUT, check=check)

    def attach(self, state):
        if state in ("installed", "ready", "running"):
            self.ctx.log.info(f"zone container {self.name} already installed")
            return
        if state is None:
            if not self.cfg_path.is_file():
                raise DriverError(f"zone {self.name} is not configured on this node and its configuration "
                                  f"export {self.cfg_path} does not exist: stop the service where it runs "
                                  f"(the stop exports it) and copy the file here")
            self.zonecfg("-f", str(self.cfg_path))
        if not self.zoneadm("attach", check=False).ok:
            self.zoneadm("attach", "-F")
        self.can_rollback = True       # attached: a rollback detaches it

    def export_cfg(self):
        self.cfg_path.parent.mkdir(parents=True, exist_ok=True)
        result = self.zonecfg("export", "-f", str(self.cfg_path), check=False)
        if not result.ok and not self.cfg_path.is_file():
            raise DriverError(f"zonecfg -z {self.name} export failed and no previous export exists "
                              f"({self.cfg_path})")

    # --- technology hooks -----------------------------------------------------------------------
    def container_start(self):
        """Called when the zone does not run here (the base's start checked)."""
        state = self.zone_state()
        self.attach(state)
        if state == "ready":
            self.ctx.log.info(f"zone container {self.name} already ready")
        else:
            self.zoneadm("ready")
        self.zoneadm("boot")

    def container_stop(self):
        state = self.zone_state()
        if state == "running":
            if self.ctx.run(["zlogin", self.name, "/sbin/init", "0"], timeout=CMD_TIMEOUT, check=False).ok:
                return
            self.ctx.log.warning(f"zone {self.name} refused init 0: halt it")
        if state in ("running", "ready", "shutting_down"):
            self.zoneadm("halt")

    def container_forcestop(self):
        if self.zone_state() not in HALTED:
            self.zoneadm("halt")

    def stop(self):
        state = self.zone_state()
        if state is None:
            self.ctx.log.info(f"container {self.name} already stopped")
            return
        self.export_cfg()
        if state in HALTED:
            self.ctx.log.info(f"container {self.name} already stopped")
            return
        self.container_stop()

    def wait_operational(self):
        super().wait_operational()
        self._poll(f"wait for smf state online on {MULTI_USER}", self.multi_user, self.up_poll,
                   self.start_timeout, DriverError("Waited too long for startup"))

    def wait_down(self):
        """Wait for `installed`, then detach (and delete): what a zone's stop leaves on this node."""
        self._poll("wait for container down status", self.is_halted, self.down_poll, self.stop_timeout,
                   StopTimeout("Waited too long for shutdown"))
        if self.zone_state() == "installed":
            self.zoneadm("detach")
        if self.delete_on_stop and self.zone_state() is not None:
            self.zonecfg("delete", "-F")
