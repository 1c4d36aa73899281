"""The action executor: one path for every state-changing action.

    guards -> lock -> journal `action begin` -> for each planned step: transition (journaled first),
    driver call, transition -> on failure: rollback of what this action changed -> `action end`
    -> status refresh.

Every transition goes through the machines' journaling hook, so it is durable in the journal before
the driver acts (write-ahead). Commands are journaled by the runner's sink.
"""

import getpass
import os
import time

from engine import plan as planner
from engine import requires
from domain import actions as vocabulary
from domain.families import machine_of
from machines.defs import DONE_STATES, PHASES, SOURCE_STATES, is_up
from core.errors import OsvcError

# Start actions: a failure rolls back what the action started (run_sub, rollback).
START_FAMILY = vocabulary.ROLLBACK                  # domain.actions' rollback column

# Executor actions allowed without --cluster on an hb-driven service (reference §5.8; freeze, thaw
# and the print actions never reach the executor).
ALLOW_WITHOUT_CLUSTER = vocabulary.WITHOUT_CLUSTER   # domain.actions' without_cluster column

# Sub-actions composed of plain actions.
COMPOSITE = vocabulary.COMPOSITE                    # domain.actions' composite column

# Sync actions: the sync drivers' method of the same name, under the `<svc>.sync` lock (reference
# §5.7), allowed on frozen and hb-driven services (§5.8), journaled like any action.
SYNC_ACTIONS = vocabulary.SYNC_ACTIONS
# Driver hooks around a sync (reference §5.12): `presync` prepares what a sync sends (the srp
# export), before the sync here; `postsync` installs it (the srp import) on each node the sync
# reached, run there as `osvc-engine -s SVC postsync --waitlock 3600` like the agent does.
SYNC_HOOKS = vocabulary.SYNC_HOOKS
POSTSYNC_WAITLOCK = 3600

# The states a start or a stop usually begins from. From these, the driver's own idempotence is enough
# (a start of something already running logs "already started"); from any other state the executor
# probes first and journals what it sees when it differs from the belief.
# (SOURCE_STATES, machines.defs.) Where a start or a stop leaves a resource, DONE_STATES: a resumed
# action (recover --resume) skips what is there.


def boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def node_env(node):
    """The node's env (PRD, DEV...): `etc/node.conf` [node] env, default TST."""
    return str(node.setting("node", "env", "TST")).upper()


class Refused(OsvcError):
    """A guard refused the action before any effect."""


class ActionFailed(OsvcError):
    """A resource action failed (after rollback, if any)."""


class Executor:
    """Runs one action of one service. Built per (service, command line)."""

    def __init__(self, node, svc, opts, *, action_id=None, extra=None):
        from config.build import load_service

        self.node, self.svc, self.opts = node, svc, opts
        self.spec = load_service(node, svc)
        self.action_id = action_id or os.environ.get("OSVC_ACTION_ID") or os.urandom(8).hex()
        self.extra = extra or {}
        self.journal = None
        self.changed = []          # rids this action changed, in the order it changed them
        self.inherited = set()     # a resumed action: the rids the interrupted one started
        self.models = {}

    # --- journal ------------------------------------------------------------------------------
    def record(self, kind, event="", rid="", durable=True, **fields):
        rec = {"node": self.node.name, "svc": self.svc, "rid": rid, "kind": kind, "event": event,
               "action_id": self.action_id, "payload": fields.pop("payload", {}), **fields}
        return self.journal.append_one(rec, durable=durable)

    def _command_sink(self, rid, **extra):
        """The runner's sink: each command it ran becomes a `command` record (`extra` joins the payload)."""
        def sink(rec):
            payload = {**rec.get("payload", {}), **extra}
            argv = payload.get("argv") or [""]
            self.record("command", event=os.path.basename(str(argv[0])), rid=rid, durable=False,
                        payload=payload)
        return sink

    def check_requires(self, needs, drivers):
        """Raise DriverError with the agent's message when a required resource is not in a
        required state now (engine/requires.py)."""
        if not needs:
            return
        from drivers.base import DriverError
        from engine.probe import resource_status

        problem = requires.unmet(needs, lambda rid: resource_status(self.spec.resource(rid), drivers.get(rid))[0])
        if problem:
            raise DriverError(problem)

    def run_triggers(self, res, when, action):
        """The resource's `when` ('pre' or 'post') triggers of `action` (engine/triggers.py); each
        command is journaled with its keyword. A failed blocking one raises DriverError."""
        if not res.triggers:
            return
        from drivers.runner import Runner
        from engine import triggers

        log = self.loggers(res.rid)

        def execute(keyword, name, argv):
            runner = Runner(log=log, sink=self._command_sink(res.rid, trigger=keyword))
            return runner.run(argv, timeout=triggers.TIMEOUT, check=False, env={
                "OPENSVC_SVCNAME": self.svc, "OPENSVC_RID": res.rid, "OPENSVC_ACTION": name})

        triggers.run(res.triggers, when, action, execute, log)

    def starts_on_standby(self, res):
        """startstandby starts always_on resources, and the 1.5 app's `S*.standby@<this node>` launchers."""
        if res.standby:
            return True
        if res.family == "app" and not res.conf.get("script"):     # the 1.5 launcher folder
            from pathlib import Path

            from drivers.app import standby_launchers

            folder = Path(res.conf.get("dir") or self.node.launchers_dir(self.svc))
            return bool(standby_launchers(folder, self.node.name, self.spec.default))
        return False

    # --- guards --------------------------------------------------------------------------------
    def guards(self, action):
        """Reasons to refuse, checked before the first effect. Returns the refusal text or None."""
        from engine.states import is_frozen

        opts = self.opts
        if action in SYNC_ACTIONS or action in SYNC_HOOKS:
            return None
        if is_frozen(self.node, self.svc) and not opts.force:
            return f"Abort action '{action}' for frozen service. Use --force to override."
        scoped = bool(opts.rid or opts.tags or opts.subsets)
        if self.spec.has_hb and not opts.cluster and not scoped and action not in ALLOW_WITHOUT_CLUSTER:
            return ("this service is managed by a clusterware, thus direct service manipulation is disabled "
                    f"({action}). the --cluster option circumvent this safety net.")
        svc_env = str(self.spec.default.get("env") or "TST").upper()
        if node_env(self.node) == "PRD" and svc_env != "PRD":
            return f"not allowed to run a {svc_env} service on a PRD node (set env = PRD or use another node)"
        return None

    def refuse(self, action, reason):
        self.log.error(reason)
        self.record("action", "refused", payload={"action": action, "reason": reason, "argv": self.opts.argv,
                                                  "user": getpass.getuser(), "pid": os.getpid()})
        raise Refused(reason)

    # --- machines ------------------------------------------------------------------------------
    def _models(self):
        from engine.states import load_states
        from machines.core import Model, attach

        states = load_states(self.node, self.svc)
        models = {}
        for res in self.spec.resources:
            if res.encap:
                continue
            kind = machine_of(res.family)
            m = Model(res.rid, journal=self._transition_sink(res.rid))
            attach(m, kind, states.get(res.rid) or None)
            models[res.rid] = m
        svc_model = Model("", journal=self._transition_sink(""))
        attach(svc_model, "service", states.get("") or None)
        models[""] = svc_model
        return models

    def _transition_sink(self, rid):
        from engine.recovery import crash_point

        def sink(rec):
            self.record(rec.pop("kind", "transition"), rec.pop("event", ""), rid=rid, durable=True,
                        machine=rec.get("machine", ""), src=rec.get("src", ""), dst=rec.get("dst", ""),
                        payload=rec.get("payload", {}))
            crash_point()   # test-only crash injection (OSVC_CRASH_AT_TRANSITION), a no-op otherwise
        return sink

    def fire(self, rid, trigger, **payload):
        from machines.core import fire

        fire(self.models[rid], trigger, **payload)

    def save_states(self):
        from engine.states import save_states

        save_states(self.node, self.svc, {rid: m.state for rid, m in self.models.items()})

    # --- steps ---------------------------------------------------------------------------------
    def run_step(self, step, drivers, rollback=False):
        """One resource's start or stop: begin transition, requirements and pre triggers, driver
        call, one transition per phase, post triggers, end. A rollback (as in the agent) checks no
        requirement and runs no trigger: nothing in the config can keep a half-started service up.

        Phases are the machine's waypoints (a container's wait-up, wait-ping, wait-operational): the
        driver method of the same name runs once its state is journaled; a driver without it passes
        through at once, and the journal still shows the phase.
        """
        from drivers.base import DriverError, StopTimeout

        res = self.spec.resource(step.rid)
        drv = drivers.get(step.rid)
        rlog = self.loggers(step.rid)
        if drv is None:
            raise ActionFailed(f"{step.rid}: no driver for {res.family} type '{res.type}'")
        if step.direction == "stop" and res.standby and not self.opts.force:
            rlog.info(f"skip '{self.current}' on standby resource (--force to override)")
            return
        mstep = PHASES[(machine_of(res.family), step.direction)]
        model = self.models[step.rid]
        if model.state not in SOURCE_STATES[step.direction]:
            # the belief is not the usual starting point (already up for a start, failed...): look first
            self.observe(step.rid, res, drv, model)
        if getattr(self.opts, "resumes", None) and model.state in DONE_STATES[step.direction]:
            # `recover --resume`: the interrupted action already got it there (the probe above agrees)
            rlog.info(f"already {model.state}: done by the interrupted action, skip")
            self.hand_to_rollback(step, drv)
            return
        needs = requires.of(res.requires, step.direction) if not rollback else []
        if requires.impossible(needs):
            rlog.info(f"skip {step.direction}: {step.direction}_requires is impossible")
            return
        t0 = time.monotonic()
        phase_t0 = t0

        def advance(trigger):
            nonlocal phase_t0
            now = time.monotonic()
            self.fire(step.rid, trigger, duration=round(now - phase_t0, 6))
            phase_t0 = now

        self.fire(step.rid, mstep.begin)
        method = step.direction
        if self.current == "startstandby" and hasattr(drv, "start_standby") and not res.standby:
            method = "start_standby"
        try:
            self.check_requires(needs, drivers)
            if not rollback:
                self.run_triggers(res, "pre", step.direction)
            getattr(drv, method)()
            for waypoint in mstep.waypoints:
                advance(waypoint)
                phase = getattr(drv, waypoint, None)
                if phase is None:
                    continue
                try:
                    phase()
                except StopTimeout:
                    advance("force_stop")
                    drv.force_stop()
                    advance(waypoint)
                    phase()
            if not rollback:
                self.run_triggers(res, "post", step.direction)
        except DriverError as exc:
            self.fire(step.rid, mstep.failed, reason=str(exc), duration=round(time.monotonic() - t0, 6))
            self.hand_to_rollback(step, drv)     # e.g. a VM booted but never answered ping
            if res.optional:
                rlog.error(str(exc))
                rlog.info(f"ignore {step.direction} error on optional resource")
                return
            raise
        advance(mstep.ok)
        self.hand_to_rollback(step, drv)

    def hand_to_rollback(self, step, drv):
        """A start step whose resource this action changed (the driver says so), or the interrupted
        action it resumes started, leaves it to the rollback of a failed start. (A resumed start
        finds such a resource up: it skips it, or the driver says "already started".)"""
        if step.direction == "start" and (drv.can_rollback or step.rid in self.inherited):
            self.changed.append(step.rid)

    def observe(self, rid, res, drv, model):
        """Journal what the probe sees when it differs from the machine's belief (and move the machine)."""
        from engine.probe import resource_status
        from machines.core import can

        value, logs = resource_status(res, drv)
        believed_up = is_up(model.state)
        seen_up = value in ("up", "stdby up")
        if value in ("up", "stdby up", "down", "stdby down") and believed_up != seen_up:
            trigger = "observed_up" if seen_up else "observed_down"
            self.record("observation", "status", rid=rid, durable=False,
                        payload={"status": value, "log": logs, "believed": model.state})
            if can(model, trigger):
                self.fire(rid, trigger, status=value)

    # --- the action ------------------------------------------------------------------------------
    def run(self):
        from core.log import resource_logger, service_logger
        from core.lock import ServiceLock
        from journal.store import Journal

        action = self.opts.action
        self.log = service_logger(self.node, self.svc)
        self.loggers = lambda rid: resource_logger(self.svc, rid)
        actions = COMPOSITE.get(action, (action,))
        if action == "boot":
            autostart = self.spec.default.get("autostart_node") or []
            actions = ("start",) if self.node.name in autostart else ("startstandby",)
        if action == "shutdown":
            self.opts.force = True
        if action in SYNC_ACTIONS:
            steps = {"presync": self.hook_steps("presync"), action: [
                planner.Step(r.rid, r.family, action) for r in self.selected() if r.family == "sync"]}
            steps = {sub: st for sub, st in steps.items() if st or sub == action}
        elif action in SYNC_HOOKS:
            steps = {action: self.hook_steps(action)}
        else:
            steps = {a: planner.plan("stop" if a == "shutdown" else a, self.spec.resources,
                                     rid=self.opts.rid, tags=self.opts.tags, subsets=self.opts.subsets,
                                     standby=self.starts_on_standby)
                     for a in actions}
        if self.opts.dry_run:
            return self.dry_run(steps)
        self.journal = Journal(self.node.journal_path)
        try:
            reason = self.guards(action)
            if reason:
                self.refuse(action, reason)
            timeout = self.opts.waitlock
            if timeout is None:
                timeout = float(self.spec.default.get("lock_timeout") or 60)
            lock_name = self.svc + (".sync" if action in SYNC_ACTIONS else "")   # hooks: the service lock
            with ServiceLock(self.node.lock_path(lock_name), action, timeout):
                return self.run_locked(action, steps)
        finally:
            self.journal.close()

    def selected(self):
        """The resources --rid/--tags/--subsets select that this node acts on (not disabled, not encap)."""
        return [r for r in planner.select(self.spec.resources, self.opts.rid, self.opts.tags, self.opts.subsets)
                if not r.disabled and not r.encap]

    def hook_steps(self, hook):
        """A step per selected resource whose driver has the sync hook `hook`."""
        from drivers.registry import driver_class

        return [planner.Step(r.rid, r.family, hook) for r in self.selected()
                if hasattr(driver_class(r.family, r.type) or object, hook)]

    def journal_config(self):
        """Journal the env file's text when it changed since the last action (replay needs it)."""
        last = self.journal.read(svc=self.svc, kind="config", last=1)
        if last and last[0]["payload"].get("digest") == self.spec.digest:
            return
        self.record("config", "env", payload={"digest": self.spec.digest, "text": self.spec.text,
                                              "path": str(self.spec.path)})

    def run_locked(self, action, steps):
        from drivers.registry import build_drivers
        from drivers.runner import Runner

        from engine.recovery import recover

        t0 = time.monotonic()
        recover(self.node, self.svc, self.journal, self.spec, self.log)   # an interrupted action first
        self.journal_config()
        resumes = getattr(self.opts, "resumes", None)
        self.record("action", "begin", payload={
            "action": action, "argv": self.opts.argv, "user": getpass.getuser(), "pid": os.getpid(),
            "boot_id": boot_id(), "node": self.node.name, "digest": self.spec.digest,
            "steps": {a: [s.rid for s in st] for a, st in steps.items()},
            **({"resumes": resumes} if resumes else {}),
        })
        self.models = self._models()
        extra = dict(self.extra)
        if action in SYNC_ACTIONS:     # a sync refuses to push from a node where the service is not up
            from engine.commands.status import current_document

            extra.setdefault("svc_avail", current_document(self.node, self.svc).get("avail"))
        drivers = build_drivers(
            self.node, self.spec, loggers=self.loggers, opts=self.opts, extra=extra,
            runners=lambda rid: Runner(log=self.loggers(rid), sink=self._command_sink(rid)))
        error = None
        try:
            for sub in steps:
                self.current = sub
                if sub in SYNC_ACTIONS:
                    reached = self.run_sync(sub, steps[sub], drivers)
                    self.remote_postsync(reached, drivers[steps[sub][0].rid].transport if steps[sub] else None)
                elif sub in SYNC_HOOKS:
                    self.run_sync(sub, steps[sub], drivers)
                else:
                    self.run_sub(sub, steps[sub], drivers)
        except (OsvcError, Exception) as exc:  # noqa: B014 - every failure ends the action cleanly
            error = exc
            if not isinstance(exc, OsvcError):
                self.log.error(f"unexpected error: {exc!r}")
        finally:
            self.end_action(action, t0, error, drivers)
        return self.outcome(error)

    def end_action(self, action, t0, error, drivers, **extra):
        """Save the states, journal the action's end (`extra` joins its payload), refresh the status."""
        self.save_states()
        end = {"action": action, **extra, "outcome": "ok" if error is None else "failed",
               "rc": 0 if error is None else 1, "duration": round(time.monotonic() - t0, 6)}
        if error is not None:
            end["error"] = str(error)
        self.record("action", "end", payload=end)
        self.refresh(drivers)
        from machines.core import detach_all

        detach_all(self.models.values())     # the shared machines keep no model of an ended action

    @staticmethod
    def outcome(error):
        """The action's rc, or its failure raised as the CLI reports it."""
        if error is None:
            return 0
        if isinstance(error, OsvcError):
            raise error
        raise ActionFailed(str(error)) from error

    def run_sub(self, action, steps, drivers):
        direction = vocabulary.direction(action)
        svc_step = PHASES[("service", direction)]
        svc_begin, svc_ok, svc_failed = svc_step.begin, svc_step.ok, svc_step.failed
        self.fire("", svc_begin, action=action)
        try:
            for group in self.parallel_groups(steps):
                if len(group) > 1:
                    self.run_parallel(group, drivers)
                else:
                    self.run_step(group[0], drivers)
        except Exception as exc:
            self.fire("", svc_failed, reason=str(exc))
            self.log.error(str(exc))
            if action in START_FAMILY:
                self.rollback(action, drivers)
            raise
        self.fire("", svc_ok)

    def parallel_groups(self, steps):
        """The steps in runs: the consecutive resources of one `[subset#<family>:<name>] parallel =
        true` set form one run, every other step is a run of its own (reference §1.9)."""
        subsets = self.spec.default.get("subsets") or {}
        groups, last = [], None
        for step in steps:
            res = self.spec.resource(step.rid)
            key = f"{res.family}:{res.subset}"
            parallel = bool(res.subset and (subsets.get(key) or {}).get("parallel"))
            if parallel and key == last:
                groups[-1].append(step)
            else:
                groups.append([step])
            last = key if parallel else None
        return groups

    def run_parallel(self, steps, drivers):
        """A parallel subset's steps, each in a forked child, as the agent forks one per resource.
        A child journals on its own connection (its transitions and commands, same action id) and
        reports its resource's end state, which this process then takes without journaling it
        again. Only non-optional failures fail the set (run_step passes over optional ones)."""
        import threading

        from core import forked
        from journal.store import Journal
        from machines.core import restore

        if threading.active_count() > 1:   # a fork copies one thread: a lock another one holds stays held
            self.log.info("a thread runs: the parallel subset runs one resource after the other")
            for step in steps:
                self.run_step(step, drivers)
            return
        self.log.info(f"run {', '.join(s.rid for s in steps)} in parallel")

        def job(step):
            def call():
                self.journal = Journal(self.node.journal_path)    # the parent's stays the parent's
                try:
                    self.run_step(step, drivers)
                    error = None
                except Exception as exc:
                    error = str(exc) or repr(exc)
                return {"state": self.models[step.rid].state, "changed": step.rid in self.changed,
                        "error": error}
            return call

        failed = []
        for step, res in zip(steps, forked.run([job(s) for s in steps])):
            if res.get("state"):
                restore(self.models[step.rid], res["state"])
            if res.get("changed"):
                self.changed.append(step.rid)
            if res.get("error"):
                failed.append(f"{step.rid}: {res['error']}")
        if failed:
            raise ActionFailed("; ".join(failed))

    def run_sync(self, action, steps, drivers):
        """Each step's driver method `action` (a sync or a sync hook); every failure is reported,
        none stops the rest. Returns the peers the syncs reached, in order."""
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
        from drivers.runner import Runner

        runner = Runner(log=self.log, sink=self._command_sink(""))
        argv = ["osvc-engine", "-s", self.svc, "postsync", "--waitlock", str(POSTSYNC_WAITLOCK)]
        failed = []
        for peer in peers:
            try:
                transport.run(runner.run, peer, argv, timeout=POSTSYNC_WAITLOCK + 600, log=self.log)
            except OsvcError as exc:
                self.log.error(f"postsync on {peer}: {exc}")
                failed.append(peer)
        if failed:
            raise ActionFailed(f"postsync failed on {', '.join(failed)}")

    def rollback(self, action, drivers):
        opts, default = self.opts, self.spec.default
        if opts.disable_rollback:
            self.log.info(f"skip rollback {action}: as instructed by --disable-rollback")
            return
        if default.get("rollback") is False:
            self.log.info(f"skip rollback {action}: as instructed by DEFAULT.rollback=false")
            return
        if not self.changed:
            self.log.info(f"skip rollback {action}: no resource activated")
            return
        rids = [r for r in dict.fromkeys(self.changed)]
        self.log.info(f"trying to rollback {action} on {', '.join(rids)}")
        self.fire("", "rollback")
        stop_steps = planner.plan("stop", [self.spec.resource(r) for r in rids])
        failed = False
        for step in stop_steps:
            try:
                self.run_step(step, drivers, rollback=True)
            except Exception as exc:
                failed = True
                self.loggers(step.rid).error(f"rollback: {exc}")
        if failed:
            self.log.error(f"rollback {action} failed")
        self.fire("", "rolled_back" if not failed else "rollback_failed")

    def refresh(self, drivers):
        from engine.probe import evaluate
        from engine.states import write_cache

        states = {rid: m.state for rid, m in self.models.items()}
        try:
            doc = evaluate(self.node, self.spec, drivers, states)
            write_cache(self.node, self.svc, doc)
        except Exception as exc:  # the action's outcome stands; the next status --refresh rebuilds the cache
            self.log.warning(f"status refresh failed: {exc}")
            return
        from engine.history.observations import after_evaluation

        after_evaluation(self.node, self.svc, self.journal, doc, self.action_id, self.log)  # status record, snapshot

    def dry_run(self, steps):
        """Print the planned steps and the transitions each would journal; touch nothing."""
        from engine.states import load_states
        from machines.defs import dest_of, machine_def

        states = load_states(self.node, self.svc)
        for action, planned in steps.items():
            print(f"{self.svc}: {action}")
            if not planned:
                print("  nothing to do")
            for step in planned:
                res = self.spec.resource(step.rid)
                if action in SYNC_ACTIONS:
                    print(f"  {action} {step.rid}")
                    self.print_requires_and_triggers(res, action)
                    continue
                kind = machine_of(res.family)
                mstep = PHASES[(kind, step.direction)]
                state = states.get(step.rid) or machine_def(kind).initial
                path = [state]
                for trigger in (mstep.begin, *mstep.waypoints, mstep.ok):
                    state = dest_of(kind, trigger, state) or "?"
                    path.append(state)
                print(f"  {step.direction:<5} {step.rid:<14} {' -> '.join(path)}")
                self.print_requires_and_triggers(res, step.direction)
        return 0

    @staticmethod
    def print_requires_and_triggers(res, action):
        """Dry run: what the resource's config adds around its action, in the order it would run."""
        from engine import triggers

        needs = requires.of(res.requires, action)
        if needs:
            print(f"    requires: {requires.text(needs)}")
        for when in ("pre", "post"):
            for keyword, _, cmd in triggers.planned(res.triggers, when, action):
                print(f"    {keyword}: {cmd}")


def run_action(node, svc, opts):
    """cli handler for every state-changing action."""
    return Executor(node, svc, opts).run()
