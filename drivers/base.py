"""What every resource driver implements, and the context the engine hands it: the driver seam.

A driver is built from a ResourceSpec and a Context (drivers.registry.build_drivers). It does I/O
only through `ctx.run` (the command runner, which logs and journals every command) and reports
through `ctx.log` (the resource's 1.5-format logger). It never touches the journal or the state
machines: the executor drives those around the driver calls.

Everything the engine may call on a driver is declared on `Driver` below, with the answer a driver
gives when its technology has no such thing. The engine calls these by name and never probes with
hasattr/getattr; where it must know whether a driver really has an optional capability (to plan a
step, or to refuse before any effect), it asks `cls.supports(name)`.
"""

import time
from collections.abc import Callable
from typing import Any

from core.errors import OsvcError
from core.record import Record


class DriverError(OsvcError):
    """A resource action failed: the message says what and why."""


class StopTimeout(DriverError):
    """A stop phase outlived its timeout: the executor force-stops, then waits again."""


class NotSupported(DriverError):
    """The driver has no such capability (the default answer of an optional one that acts)."""


class Timeouts(Record, frozen=True):
    """Time limits a test or a demo shortens. None: the driver's own default (in its module)."""
    stat: float | None = None           # fs: a mount point must answer stat() within (fs.STAT_TIMEOUT)
    ip_down_wait: float | None = None   # ip stop: wait for the address to stop answering (ip.DOWN_WAIT)
    app: int | None = None              # app: a launcher's run, when `timeout` is unset (app.DEFAULT_TIMEOUT)
    sync: int | None = None             # sync: one rsync, btrfs send or btrfs receive (sync_rsync.SYNC_TIMEOUT)


class Context(Record):
    """What a driver gets from the engine, one per driver (build_drivers). Typed fields only: the
    engine's settings, what tests inject (clock, sleep, transport, timeouts, peers), and what the
    engine observed and writes here before it asks (the *_avail fields)."""

    # --- who and how ---------------------------------------------------------------------------
    node: Any                     # core.node.Node
    svcname: str
    log: Any                      # logging.Logger-like: .info/.warning/.error, named SVC.RID
    run: Callable                 # drivers.runner.Runner.run(argv, timeout=..., ...) -> Result
    dry_run: bool = False
    force: bool = False
    cluster: bool = False
    spec: Any = None              # the ServiceSpec, for drivers that need service-wide keywords (nodes...)
    # --- injected: time, the way to the peer nodes, limits --------------------------------------
    clock: Callable[[], float] = time.monotonic    # monotonic seconds (containers' and reservations' polls)
    sleep: Callable[[float], None] = time.sleep
    transport: Any = None         # drivers.transport.Transport; None: the node's (Driver.transport)
    timeouts: Timeouts = Timeouts()
    peers: Any = None             # drivers.registry.ServiceDrivers: the other resources' drivers (driver_of)
    # --- observed: what the engine learnt and writes here before it asks (None: not known) ---------
    instance_avail: str | None = None   # avail of the instance's ip/disk/fs/share/container resources
    #                                     (engine.probe, before the app and sync probes): app checks
    #                                     run only where the instance is up
    service_avail: str | None = None    # the service's avail on this node: the status document's for
    #                                     a sync action (executor), else instance_avail (probe); a
    #                                     sync pushes only from where the service is up

    def driver_of(self, rid: str):
        """The driver of another resource of this service (a scsireserv's disk holder, a vmdg's VM,
        the containers whose files the internal sync copies). None when no driver handles its type;
        DriverError when this context was built without the service's drivers; KeyError when the
        service has no such rid. See drivers.registry.ServiceDrivers for which instance it is."""
        if self.peers is None:
            raise DriverError(f"no driver of {rid}: this context was built without the service's drivers")
        return self.peers.driver_of(rid, self)


class Driver:
    """A resource driver: subclasses set `family` and implement start, stop and status; the rest
    is optional, declared here with its default. The contract, by caller:

    Every driver (executor, engine.probe, relocation):
      start(), stop()        The action. Idempotent (already there: log it, return). A conflict probe
                             (the reference's abort_start: an address alive elsewhere, a VM running on
                             a peer) is the driver's own, in start before its first effect (Ip,
                             Container). Failure: raise DriverError, message = what and why.
      status()               -> (value, log lines); value 'up', 'down', 'warn' or 'n/a' (the engine
                             maps standby). Reads only: quiet commands, never an effect.
      prepare_status(drivers)  Classmethod: the drivers of this class about to be asked status() in one
                             wave; their checks may run together then (app's [app#N]). Default: nothing.
      prepare_start(drivers)   Classmethod: the drivers of this class a start sub-action is about to start;
                             the checks their starts begin with may run together then. Default: nothing.
      label()                -> the text status shows (default: the rid).
      can_rollback           Attribute, False until start changes something: a failed start's
                             rollback stops only the resources whose start did.
      transport              Property: the node transport (ctx.transport, else the node's setting).

    Phases (executor, run_step): the machine tables (machines.defs) name waypoints between a
    step's begin and end; the executor journals each, then calls the method of the same name.
    Default: nothing to wait for, the phase passes at once (the journal still shows it).
      wait_up(), wait_ping(), wait_operational()   after start
      wait_down()                                  after stop; may raise StopTimeout, then:
      force_stop()           After a StopTimeout (state `force-stopping`), then the phase again.
                             Default: NotSupported.
    Action variants (executor):
      start_standby()        `startstandby` of a resource that is not `standby` itself (the 1.5
                             app's `S*.standby@<node>` launchers). Default: start().
      sync_nodes(), sync_drp(), sync_all()
                             The sync actions, on sync resources: copy to the peers, return the peer
                             node names reached. Default: NotSupported.
      presync(), postsync()  Hooks around a sync (prepare what it sends; install it on each node it
                             reached). Planned only for drivers that `supports` them. Default: no-op.
    Relocation (engine.relocation):
      migrate(dest)          Live-migrate to node `dest`; `migrate` is refused before any effect
                             unless every container `supports("migrate")`. Default: NotSupported.
      is_up()                -> bool, probed before and after a migration. Default: status() is up.
    Other drivers (through ctx.driver_of) and diskupdate (engine.commands.pr):
      disklist()             -> the backing disks (a container's, a vmdg's). diskupdate asks only
                             drivers that `supports("disklist")`. Default: [].
      files_to_sync()        -> the files a peer needs to run this resource (the internal sync
                             copies them). Default: [].
    """

    family = ""

    def __init__(self, res, ctx: Context):
        self.res = res            # domain.service.ResourceSpec
        self.ctx = ctx
        self.conf = res.conf
        self.can_rollback = False  # set True once start changed something: rollback undoes only that

    @classmethod
    def supports(cls, capability: str) -> bool:
        """Does this driver implement the optional `capability` (a method declared on Driver), rather
        than inherit Driver's default? An undeclared name raises AttributeError."""
        return getattr(cls, capability) is not getattr(Driver, capability)

    @property
    def transport(self):
        """How this node reaches its peers: `ctx.transport`, else the node's setting (then kept there)."""
        if self.ctx.transport is None:
            from drivers.transport import node_transport

            self.ctx.transport = node_transport(self.ctx.node)
        return self.ctx.transport

    # --- status ---------------------------------------------------------------------------------
    @classmethod
    def prepare_status(cls, drivers: list) -> list | None:
        """Called by a status evaluation with the drivers of this class it is about to ask status() in one wave,
        just before it asks each of them. A driver whose checks are commands may run them together here (one
        spawn for the wave, not one each) and answer each one's next status() from what it got, once. It returns
        the drivers it answered (the evaluation asks those at once, without a probe thread each).
        Default: nothing (each status() probes for itself)."""

    @classmethod
    def prepare_start(cls, drivers: list) -> None:
        """Called by a start sub-action with the drivers of this class it is about to start, before the first
        step. A driver whose start begins with a check that is a command (app's `is already started`) may run
        those checks together here and answer each start's check from what it got, once. Default: nothing."""

    def label(self) -> str:
        return self.res.rid

    def status(self) -> tuple[str, list[str]]:
        """(value, log lines). value is 'up', 'down', 'warn' or 'n/a' (standby mapping is the engine's)."""
        return "n/a", []

    def is_up(self) -> bool:
        return self.status()[0] == "up"

    # --- actions --------------------------------------------------------------------------------
    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def start_standby(self) -> None:
        self.start()

    # --- phases (named by the machine tables' waypoints) -------------------------------------------
    def wait_up(self) -> None:
        pass

    def wait_ping(self) -> None:
        pass

    def wait_operational(self) -> None:
        pass

    def wait_down(self) -> None:
        pass

    def force_stop(self) -> None:
        raise NotSupported(f"{self.res.rid}: no forced stop for {self.family} type '{self.res.type}'")

    # --- syncs ----------------------------------------------------------------------------------
    def sync_nodes(self) -> list[str]:
        raise NotSupported(f"{self.res.rid}: {self.family} type '{self.res.type}' does not sync")

    def sync_drp(self) -> list[str]:
        raise NotSupported(f"{self.res.rid}: {self.family} type '{self.res.type}' does not sync")

    def sync_all(self) -> list[str]:
        raise NotSupported(f"{self.res.rid}: {self.family} type '{self.res.type}' does not sync")

    def presync(self) -> None:
        pass

    def postsync(self) -> None:
        pass

    # --- relocation -----------------------------------------------------------------------------
    def migrate(self, dest: str) -> None:
        raise NotSupported(f"live migration is not supported for {self.family} type {self.res.type}")

    # --- what other drivers ask -------------------------------------------------------------------
    def disklist(self) -> list:
        return []

    def files_to_sync(self) -> list:
        return []
