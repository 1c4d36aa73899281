"""What every resource driver implements, and the context the engine hands it.

A driver is built from a ResourceSpec and a Context. It does I/O only through `ctx.run` (the
command runner, which logs and journals every command) and reports through `ctx.log`
(the resource's 1.5-format logger). It never touches the journal or the state machines: the
executor drives those around the driver calls.
"""

from core.record import Record, factory
from typing import Any, Callable

from core.errors import OsvcError


class DriverError(OsvcError):
    """A resource action failed: the message says what and why."""


class StopTimeout(DriverError):
    """A stop phase outlived its timeout: the executor force-stops, then waits again."""


class Context(Record):
    node: Any                     # core.node.Node
    svcname: str
    log: Any                      # logging.Logger-like: .info/.warning/.error, named SVC.RID
    run: Callable                 # drivers.runner.Runner.run(argv, timeout=..., ...) -> Result
    dry_run: bool = False
    force: bool = False
    cluster: bool = False
    spec: Any = None              # the ServiceSpec, for drivers that need service-wide keywords (nodes...)
    extra: dict = factory(dict)   # settings: technology roots, peer transport, clock...


class Driver:
    """Base resource driver. Subclasses set `family` and implement what their family needs."""

    family = ""

    def __init__(self, res, ctx: Context):
        self.res = res            # domain.service.ResourceSpec
        self.ctx = ctx
        self.conf = res.conf
        self.can_rollback = False  # set True once start changed something: rollback undoes only that

    @property
    def transport(self):
        """How this node reaches its peers: `ctx.extra['transport']`, else the node's setting."""
        transport = self.ctx.extra.get("transport")
        if transport is None:
            from drivers.transport import node_transport

            transport = self.ctx.extra["transport"] = node_transport(self.ctx.node)
        return transport

    # --- status ---------------------------------------------------------------------------
    def label(self) -> str:
        return self.res.rid

    def status(self) -> tuple[str, list[str]]:
        """(value, log lines). value is 'up', 'down', 'warn' or 'n/a' (standby mapping is the engine's)."""
        return "n/a", []

    # --- actions ----------------------------------------------------------------------------
    def abort_start(self) -> str | None:
        """Conflict probe before any start: a reason to refuse, or None."""
        return None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError
