"""`switch --to NODE` and `migrate --to NODE`: the cluster actions that move a service (docs/agent-reference.md §5.10).

    switch   local stop (every resource, hb first)  ->  remote `start` on the destination
    migrate  [prstop]  ->  remote `startfs --master`  ->  container `migrate` (up -> migrating),
             driver.migrate(dest)  ->  `stopped` (migrating -> down)  ->  local `stopfs`
             ->  [remote `prstart --master`]  ->  remote `status --refresh`
             ([...]: only when the service has scsireserv companions)
             A migration that fails with the container still running here ends with a remote
             `stopfs --master`: the destination gives back the disks its startfs took.

One journaled action on the source node. The service machine goes `switching` / `migrating` and
ends like a stop here (the service no longer runs on this node) or, when it still does after a
failure, like a start. The destination journals its own actions (start, startfs, status). Remote
commands go through the node transport (`exec '...' on node X`) and are journaled here as command
records with their rc. Every refusal happens before the first effect and is journaled.
"""

import time

from core.errors import OsvcError, UsageError
from engine import plan as planner
from engine.executor import Executor
from engine.session import ActionFailed, Refused

# A remote action may boot a VM (start_timeout up to 600 s) behind the peer's lock (lock_timeout).
REMOTE_TIMEOUT = 3600
PR_DROPPED = ("scsi reservations were dropped. you have to acquire them now using the 'prstart' action "
              "either on source node or destination node, depending on your problem analysis.")


class Relocation(Executor):
    """The executor of switch and migrate: same session (journal, lock, records), machines and
    drivers as any action."""

    def __init__(self, node, svc, request, *, session=None):
        super().__init__(node, svc, request, session=session)
        self.remote_runner = self.session.runner("")   # the remote commands, journaled here (rid '')
        self.launched = False                          # a remote command ran (the end pulls the destination)

    # --- checks before any effect ---------------------------------------------------------------
    def pool(self) -> list:
        d = self.spec.default
        return list(dict.fromkeys([*(d.get("nodes") or []), *(d.get("drpnodes") or []),
                                   *(d.get("drpnode") or [])]))

    def destination_problem(self):
        """(exception class, message) when --to is not a usable destination, else None."""
        dest = self.request.to
        if not dest:
            return UsageError, "a destination node must be provided this action"
        if dest == self.node.name:
            return Refused, "the destination is the source node"
        pool = self.pool()
        if dest not in pool:
            return Refused, (f"the destination node {dest} is not in the service's nodes or drpnodes "
                                   f"({', '.join(pool) or 'none'})")
        return None

    def containers(self) -> list:
        return [r for r in self.spec.resources if r.family == "container" and not r.in_guest and not r.disabled]

    def migrate_problem(self):
        """Why this service cannot be live-migrated (only drivers with `migrate(dest)` can), or None."""
        from drivers.registry import driver_class

        containers = self.containers()
        if not containers:
            return "live migration needs a container and this service has none: use switch"
        for res in containers:
            cls = driver_class(res.family, res.type)
            if cls is None or not cls.supports("migrate"):
                return f"live migration is not supported for container type {res.type}: use switch"
        return None

    def refuse(self, cls, reason):
        """The session's refusal, with the destination in its payload."""
        self.session.refuse(reason, cls, to=self.request.to or "")

    # --- the action -------------------------------------------------------------------------------
    def run(self):
        action = self.request.action
        if self.request.dry_run:
            return self.dry_run_plan(action)
        with self.session:
            problem = self.destination_problem()
            if problem and problem[0] is UsageError:      # a bad command line comes first
                self.refuse(*problem)
            reason = self.guards(action)
            if reason:
                self.refuse(Refused, reason)
            if problem:
                self.refuse(*problem)
            if action == "migrate":
                reason = self.migrate_problem()
                if reason:
                    self.refuse(Refused, reason)
            with self.session.lock(action):
                return self.relocate(action)

    def dry_run_plan(self, action):
        problem = self.destination_problem()
        if problem:
            raise problem[0](problem[1])
        reason = self.migrate_problem() if action == "migrate" else None
        if reason:
            raise Refused(reason)
        print(f"{self.svc}: {action} to {self.request.to}")
        for line in self.sequence(action):
            print(f"  {line}")
        return 0

    def sequence(self, action) -> list:
        """The plan in words (dry run, and the begin record)."""
        dest = self.request.to
        if action == "switch":
            return ["stop here", f"start on {dest}"]
        pr = bool(planner.plan("prstop", self.spec.resources))
        return ([*(["prstop here"] if pr else []), f"startfs --master on {dest}",
                 *(f"migrate {r.rid} to {dest}" for r in self.containers()), "stopfs here",
                 *([f"prstart --master on {dest}"] if pr else []), f"status --refresh on {dest}"])

    def relocate(self, action):
        """Under the service lock: begin, switch or migrate, end."""
        from engine.recovery import recover

        t0 = time.monotonic()
        recover(self.node, self.svc, self.session.journal, self.spec, self.log)   # an interrupted action first
        self.journal_config()
        dest = self.request.to
        self.session.record("action", "begin", payload=self.session.begin_payload(
            head={"to": dest}, digest=self.spec.digest, sequence=self.sequence(action)))
        self.models = self._models()
        drivers = self.session.drivers()
        error = None
        try:
            if action == "switch":
                self.switch(dest, drivers)
            else:
                self.migrate(dest, drivers)
        except Exception as exc:  # every failure ends the action cleanly
            error = exc
            if not isinstance(exc, OsvcError):
                self.log.error(f"unexpected error: {exc!r}")
        finally:
            self.end_action(action, t0, error, drivers, to=dest)
            if self.launched:        # the destination journaled a part of this action: mirror it here
                self.pull(dest)
        return self.session.outcome(error)

    def pull(self, dest):
        """The destination's records into its mirror here (engine.pull): the cluster audit of this action
        then reads both parts on this node. A peer that cannot be reached, or refused, is a warning:
        the action is done, whatever its journal's copy here."""
        from core.errors import OsvcError
        from engine.pull import node_peers, pull_peer

        try:
            pull_peer(self.node, node_peers(self.node, [dest])[0])
        except OsvcError as exc:
            self.log.warning(f"journal pull of node {dest}: {exc}")

    # --- remote actions -------------------------------------------------------------------------------
    def remote(self, dest, *words, cluster=True):
        """`osvc-engine -s SVC <words>` on `dest` (with --cluster when this action had it); the Result."""
        from drivers.transport import node_transport

        argv = ["osvc-engine", "-s", self.svc, *words, *(["--cluster"] if cluster and self.request.cluster else [])]
        # the destination journals under this action's id, after the launch record (core.lineage)
        self.launched = True
        return self.session.launch(node_transport(self.node), dest, argv, timeout=REMOTE_TIMEOUT, log=self.log)

    def remote_ok(self, dest, *words, hint):
        res = self.remote(dest, *words)
        if res.rc != 0:
            raise ActionFailed(f"{' '.join(words)} on node {dest} failed (rc {res.rc}): {hint}")
        return res

    # --- switch -------------------------------------------------------------------------------------
    def run_steps(self, sub, drivers):
        """Every step of the sub-action `sub` (stop, stopfs, prstop) here, each transition journaled."""
        self.current = sub
        for step in planner.plan(sub, self.spec.resources):
            self.run_step(step, drivers)

    def switch(self, dest, drivers):
        self.fire("", "switch", action="switch", to=dest)
        try:
            self.run_steps("stop", drivers)
        except Exception as exc:
            self.fire("", "stop_failed", reason=str(exc))
            self.log.error(f"{exc}")
            raise ActionFailed(f"stop here failed, the service was not started on node {dest}: {exc}") from exc
        self.fire("", "stopped")          # not running here any more, whatever the destination does
        self.remote_ok(dest, "start", hint=(
            f"the service is stopped on {self.node.name}; read node {dest}'s log (osvc-engine journal "
            f"audit -s {self.svc} there), then start it on {dest} or here"))

    # --- migrate ------------------------------------------------------------------------------------
    def migrate(self, dest, drivers):
        pr = bool(planner.plan("prstop", self.spec.resources))
        containers = self.containers()
        for res in containers:       # nothing to move when it does not run here: refuse before any effect
            if not self.seen_up(res, drivers[res.rid]):
                raise ActionFailed(f"container {drivers[res.rid].label()} is not running on {self.node.name}: "
                                   f"nothing to migrate (start it, or use switch)")
        self.fire("", "migrate", action="migrate", to=dest)
        moved, pr_dropped, dest_started = False, False, False
        try:
            if pr:
                pr_dropped = True
                self.run_steps("prstop", drivers)
            self.remote_ok(dest, "startfs", "--master",
                           hint=f"the service still runs on {self.node.name}; fix node {dest}'s disks and retry")
            dest_started = True
            for res in containers:
                self.migrate_container(res, drivers[res.rid], dest)
            moved = True
            self.run_steps("stopfs", drivers)
            if pr:
                self.remote_ok(dest, "prstart", "--master", hint="take them with 'prstart' there")
                pr_dropped = False
            # the destination's cache and journal show the container up there
            self.remote(dest, "status", "--refresh", cluster=False)
        except Exception as exc:
            if pr_dropped:
                self.log.error(PR_DROPPED)
            up_here = not moved and all(self.seen_up(r, drivers[r.rid]) for r in containers)
            if up_here and dest_started:
                self.undo_startfs(dest)
            self.fire("", "stop_failed" if moved else "started" if up_here else "start_failed", reason=str(exc))
            raise
        self.fire("", "stopped")

    def undo_startfs(self, dest):
        """The container did not move and runs here: stop what startfs started on the destination,
        so that no disk or filesystem stays active on two nodes. (The agent leaves it; a second
        node mounting the service's filesystems while it runs here is how they get corrupted.)
        When a container fails here and its probe finds it down, it may have reached the
        destination: then the destination keeps its disks, and the operator decides."""
        self.log.info(f"the container still runs on {self.node.name}: stopping what startfs started on node {dest}")
        res = self.remote(dest, "stopfs", "--master")
        if res.rc != 0:
            self.log.error(f"stopfs --master on node {dest} failed (rc {res.rc}): the service's disks and "
                           f"filesystems may still be active there while it runs on {self.node.name}; "
                           f"run 'osvc-engine -s {self.svc} stopfs' on node {dest}")

    def seen_up(self, res, drv) -> bool:
        """Probe the container; journal and apply what is seen when it differs from the belief."""
        from machines.core import can
        from machines.defs import is_up

        model = self.models[res.rid]
        up = drv.is_up()
        believed_up = is_up(model.state)
        if up != believed_up:
            self.session.record("observation", "status", rid=res.rid, durable=False,
                                payload={"status": "up" if up else "down", "believed": model.state})
            trigger = "observed_up" if up else "observed_down"
            if can(model, trigger):
                self.fire(res.rid, trigger, status="up" if up else "down")
        return up

    def migrate_container(self, res, drv, dest):
        from drivers.base import DriverError

        rlog = self.loggers(res.rid)
        t0 = time.monotonic()
        self.fire(res.rid, "migrate", to=dest)              # up -> migrating, journaled before the command
        try:
            drv.migrate(dest)
        except DriverError as exc:
            duration = round(time.monotonic() - t0, 6)
            # never a lie: the machine ends where the probe says the container is
            up = drv.is_up()
            self.session.record("observation", "status", rid=res.rid, durable=False,
                                payload={"status": "up" if up else "down", "believed": "migrating"})
            self.fire(res.rid, "started" if up else "start_failed", reason=str(exc), duration=duration)
            rlog.error(str(exc))
            where = f"still running on {self.node.name}" if up else f"not running on {self.node.name}"
            raise ActionFailed(f"live migration of {drv.label()} to node {dest} failed, the container is {where}: "
                               f"{exc}") from exc
        self.fire(res.rid, "stopped", duration=round(time.monotonic() - t0, 6))   # migrating -> down here


def run_relocation(node, svc, request):
    """cli handler of `switch` and `migrate`."""
    return Relocation(node, svc, request).run()
