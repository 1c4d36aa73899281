"""The sync actions of the executor: `sync_nodes`, `sync_drp`, `sync_all`, and the driver hooks
around a sync, `presync` and `postsync` (docs/agent-reference.md §5.12).

    sync_all  ->  presync (each resource whose driver has the hook, here)  ->  sync_all (each sync
              resource's driver method of that name: the peers it reached)  ->  on each peer reached,
              `osvc-engine -s SVC postsync --waitlock 3600` when a resource here has that hook

A sync runs under the `<svc>.sync` lock (docs/agent-reference.md §5.7), is allowed on frozen and hb-driven
services (§5.8), and is journaled like any action. The Executor (engine/executor.py) inherits
SyncActions: these methods use its session, spec, requirement check and triggers.
"""

from engine import plan as planner
from domain import actions as vocabulary
from engine import requires
from engine.session import ActionFailed

SYNC_ACTIONS = vocabulary.SYNC_ACTIONS     # domain.actions' sync column
# `presync` prepares what a sync sends (the srp export), before the sync here; `postsync` installs
# it (the srp import) on each node the sync reached, run there like the agent does.
SYNC_HOOKS = vocabulary.SYNC_HOOKS
POSTSYNC_WAITLOCK = 3600


class SyncActions:
    """Mixin of the Executor: planning and running the sync actions and hooks."""

    def hook_steps(self, hook):
        """A step per selected resource whose driver has the sync hook `hook`."""
        from drivers.registry import driver_class

        return [planner.Step(r.rid, r.family, hook) for r in self.selected()
                if (cls := driver_class(r.family, r.type)) is not None and cls.supports(hook)]

    def sync_plan(self, action):
        """{sub-action: steps} of a sync action (presync first, when a driver has it) or a hook."""
        if action in SYNC_HOOKS:
            return {action: self.hook_steps(action)}
        steps = {"presync": self.hook_steps("presync"), action: [
            planner.Step(r.rid, r.family, action) for r in self.selected() if r.family == "sync"]}
        return {sub: st for sub, st in steps.items() if st or sub == action}

    def run_sync_sub(self, sub, steps, drivers):
        """One sub-action of a sync plan; after a sync, postsync on the peers it reached."""
        reached = self.run_sync(sub, steps, drivers)
        if sub in SYNC_ACTIONS:
            self.remote_postsync(reached, drivers[steps[0].rid].transport if steps else None)

    def run_sync(self, action, steps, drivers):
        """Each step's driver method `action` (a sync or a sync hook); every failure is reported,
        none stops the rest. Returns the peers the syncs reached, in order."""
        from core.errors import OsvcError

        failed, reached = [], []
        for step in steps:
            res = self.spec.resource(step.rid)
            needs = requires.of(res.requires, action)
            if requires.impossible(needs):
                self.loggers(step.rid).info(f"skip {action}: {action}_requires is impossible")
                continue
            try:
                self.check_requires(needs, drivers)
                self.run_triggers(res, "pre", action)
                reached += getattr(drivers[step.rid], action)() or []
                self.run_triggers(res, "post", action)
            except OsvcError as exc:
                self.loggers(step.rid).error(str(exc))
                failed.append(step.rid)
        if failed:
            raise ActionFailed(f"{action} failed on {', '.join(failed)}")
        return list(dict.fromkeys(reached))

    def remote_postsync(self, peers, transport):
        """`postsync` on each peer a sync reached, when a resource here has that hook. The local
        lock is `<svc>.sync`, the peer's postsync takes the peer's `<svc>` lock: no deadlock."""
        if not peers or not self.hook_steps("postsync"):
            return
        from core.errors import OsvcError

        argv = ["osvc-engine", "-s", self.svc, "postsync", "--waitlock", str(POSTSYNC_WAITLOCK)]
        failed = []
        for peer in peers:
            try:      # the peer journals its postsync under this action's id (core.lineage)
                self.session.launch(transport, peer, argv, timeout=POSTSYNC_WAITLOCK + 600, check=True, log=self.log)
            except OsvcError as exc:
                self.log.error(f"postsync on {peer}: {exc}")
                failed.append(peer)
        if failed:
            raise ActionFailed(f"postsync failed on {', '.join(failed)}")
