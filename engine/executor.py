"""The action executor: one path for every state-changing action.

    guards -> lock -> journal `action begin` -> for each planned step: transition (journaled first),
    driver call, transition -> on failure: rollback of what this action changed -> `action end`
    -> status refresh.

    Executor(node, "web", ActionRequest("start", argv=...)).run()   # the rc, or raises what the CLI prints

Its input is an engine.request.ActionRequest; one engine.session.Session (made here, or handed in)
is the action: its id, journal, records, refusal, lock, loggers and drivers. Every transition goes
through the machines' journaling hook (the session's transition sink), so it is durable in the
journal before the driver acts (write-ahead). Commands are journaled by the runner's sink. The sync
actions are engine/syncs.py's (SyncActions), switch and migrate engine/relocation.py's.
"""

import time

from core.errors import DiskFull, JournalError, OsvcError
from core.record import replace
from engine import encap
from engine import plan as planner
from engine import requires
from domain import actions as vocabulary
from domain.families import machine_of
from machines.defs import DONE_STATES, PHASES, SOURCE_STATES, is_up
from engine.session import ActionFailed, Refused, Session  # noqa: F401 - ActionFailed, Refused: the executor's errors
from engine.syncs import SYNC_ACTIONS, SYNC_HOOKS, SyncActions

# Start actions: a failure rolls back what the action started (run_sub, rollback).
START_FAMILY = vocabulary.ROLLBACK                  # domain.actions' rollback column

# Executor actions allowed without --cluster on an hb-driven service (docs/agent-reference.md §5.8; freeze, thaw
# and the print actions never reach the executor).
ALLOW_WITHOUT_CLUSTER = vocabulary.WITHOUT_CLUSTER   # domain.actions' without_cluster column

# Sub-actions composed of plain actions.
COMPOSITE = vocabulary.COMPOSITE                    # domain.actions' composite column

# The states a start or a stop usually begins from. From these, the driver's own idempotence is enough
# (a start of something already running logs "already started"); from any other state the executor
# probes first and journals what it sees when it differs from the belief.
# (SOURCE_STATES, machines.defs.) Where a start or a stop leaves a resource, DONE_STATES: a resumed
# action (recover --resume) skips what is there.


def node_env(node):
    """The node's env (PRD, DEV...): `etc/node.conf` [node] env, default TST."""
    return str(node.setting("node", "env", "TST")).upper()


class Executor(SyncActions):
    """Runs one action of one service: `Executor(node, svc, request).run()`.

    session: the Session to act in (default: a new one, which mints the action id)."""

    def __init__(self, node, svc, request, *, session=None):
        from config.build import load_service

        if request.action == "shutdown" and not request.force:
            request = replace(request, force=True)     # shutdown stops the standby resources too
        self.node, self.svc, self.request = node, svc, request
        self.spec = session.spec if session is not None else load_service(node, svc)
        self.session = session or Session(node, svc, request, spec=self.spec)
        self.log = self.session.log
        self.changed = []          # rids this action changed, in the order it changed them
        self.inherited = set()     # a resumed action: the rids the interrupted one started
        self.models = {}           # rid -> machines.core.Model ('' the service), attached in run_locked
        self.current = None        # the sub-action running (restart: stop, then start)

    @property
    def action_id(self):
        return self.session.action_id

    def loggers(self, rid):
        return self.session.loggers(rid)

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
        from engine import triggers

        log = self.loggers(res.rid)

        def execute(keyword, name, argv):
            runner = self.session.runner(res.rid, trigger=keyword)
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

        request = self.request
        if action in SYNC_ACTIONS or action in SYNC_HOOKS:
            return None
        if is_frozen(self.node, self.svc) and not request.force:
            return self.session.frozen_message(action)
        scoped = bool(request.rid or request.tags or request.subsets)
        if self.spec.has_hb and not request.cluster and not scoped and action not in ALLOW_WITHOUT_CLUSTER:
            return ("this service is managed by a clusterware, thus direct service manipulation is disabled "
                    f"({action}). the --cluster option circumvent this safety net.")
        svc_env = str(self.spec.default.get("env") or "TST").upper()
        if node_env(self.node) == "PRD" and svc_env != "PRD":
            return f"not allowed to run a {svc_env} service on a PRD node (set env = PRD or use another node)"
        return None

    # --- machines ------------------------------------------------------------------------------
    def _models(self):
        from engine.states import load_states
        from machines.core import Model, attach

        states = load_states(self.node, self.svc)
        models = {}
        machines = [(res.rid, machine_of(res.family)) for res in self.spec.resources if not res.in_guest]
        machines += [(encap.step_rid(res.rid), "encap") for res in encap.containers(self.spec)]
        for rid, kind in machines:
            m = Model(rid, journal=self.session.transition_sink(rid))
            attach(m, kind, states.get(rid) or None)
            models[rid] = m
        svc_model = Model("", journal=self.session.transition_sink(""))
        attach(svc_model, "service", states.get("") or None)
        models[""] = svc_model
        return models

    def fire(self, rid, trigger, relaxed=False, **payload):
        """Fire `trigger` on rid's machine, journaled first: durably, or `relaxed` for a transition no effect
        follows before the next durable record (Session.relaxed: a step's end, the service's begin and end)."""
        from machines.core import fire

        if relaxed:
            with self.session.relaxed():
                fire(self.models[rid], trigger, **payload)
        else:
            fire(self.models[rid], trigger, **payload)

    def save_states(self):
        from engine.states import save_states

        try:
            save_states(self.node, self.svc, {rid: m.state for rid, m in self.models.items()})
        except DiskFull as exc:     # before the end record: the action stays open for recover (issue 17, item 12)
            raise DiskFull(f"{exc.head}: the action's end was not journaled, and action '{self.request.action}' "
                           f"[act:{self.action_id[:8]}] of {self.svc} stays open", exc.mount,
                           then=f"run `osvc-engine -s {self.svc} recover`") from None

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

        if step.family == "encap":
            return self.run_guest_step(step, drivers)
        res = self.spec.resource(step.rid)
        drv = drivers.get(step.rid)
        rlog = self.loggers(step.rid)
        if drv is None:
            raise ActionFailed(f"{step.rid}: no driver for {res.family} type '{res.type}'")
        if step.direction == "stop" and res.standby and not self.request.force:
            rlog.info(f"skip '{self.current}' on standby resource (--force to override)")
            return
        mstep = PHASES[(machine_of(res.family), step.direction)]
        model = self.models[step.rid]
        if model.state not in SOURCE_STATES[step.direction]:
            # the belief is not the usual starting point (already up for a start, failed...): look first
            self.observe(step.rid, res, drv, model)
        if self.request.resumes and model.state in DONE_STATES[step.direction]:
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

        def advance(trigger, relaxed=False):
            nonlocal phase_t0
            now = time.monotonic()
            self.fire(step.rid, trigger, relaxed, duration=round(now - phase_t0, 6))
            phase_t0 = now

        self.fire(step.rid, mstep.begin)
        method = step.direction
        if self.current == "startstandby" and step.direction == "start" and not res.standby:
            method = "start_standby"     # Driver.start_standby: start() unless the driver has its own
        try:
            self.check_requires(needs, drivers)
            if not rollback:
                self.run_triggers(res, "pre", step.direction)
            getattr(drv, method)()
            for waypoint in mstep.waypoints:
                advance(waypoint)
                phase = getattr(drv, waypoint)    # a Driver phase: a no-op unless the driver waits
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
            exc.rid = step.rid      # run_sub logs it under the resource's name, SVC.RID, not the service's
            raise
        # The step's end is relaxed: nothing acts before the next durable record (the next step's begin,
        # the action's end) carries it to disk; lost with a power loss before that, the durable begin
        # leaves the resource `starting`/`stopping`, which recovery probes. Begins and waypoints, which
        # an effect follows, and failures stay durable (tests/crash/test_write_ahead.py).
        advance(mstep.ok, relaxed=True)
        self.hand_to_rollback(step, drv)

    def guest(self, step_rid, drivers):
        """The encap.Guest of an encap step (its container's driver reaches the guest)."""
        container_rid = step_rid.split(":", 1)[1]
        return encap.Guest(self.node, self.spec, self.spec.resource(container_rid), drivers[container_rid])

    def run_guest_step(self, step, drivers, words=None):
        """One container's encap step: the same action run by the guest engine (docs/encapsulation-and-
        cluster.md §1.2), under this action's id, after the env file reached the guest when it changed.
        A guest that cannot be joined fails a start; a stop goes on without it (1.8's `continue`)."""
        from drivers.base import DriverError

        guest = self.guest(step.rid, drivers)
        rlog = self.loggers(step.rid)
        words = words or [self.current]
        if not guest.is_up():
            rlog.info(f"skip encap {' '.join(words)}: the container {guest.name} is not running here")
            return
        if words == ["start"] and encap.starts_on_boot(self.spec, guest.name):
            rlog.info(f"skip start in container {guest.name}: the encap service is configured to start on "
                      "container boot.")
            return
        phases = PHASES[("encap", step.direction)]
        t0 = time.monotonic()
        self.fire(step.rid, phases.begin, container=guest.name, command=" ".join(words))
        try:
            guest.push_if_changed(self.session.runner(step.rid).run, rlog, self.session)
            run, env = self.session.launcher(step.rid, guest.name, words)    # journals `action launch`
            result = guest.run(run, words, request=self.request, env=env)
            if result.rc != 0:
                raise DriverError(f"error from encap service command '{' '.join(words)}' in container "
                                  f"{guest.name}: rc {result.rc}")
        except encap.Unjoinable as exc:
            self.fire(step.rid, phases.failed, reason=str(exc), duration=round(time.monotonic() - t0, 6))
            if step.direction == "stop":
                rlog.warning(f"{exc}: stop goes on without the guest")
                return
            raise
        except DriverError as exc:
            self.fire(step.rid, phases.failed, reason=str(exc), duration=round(time.monotonic() - t0, 6))
            self.mirror_guest(guest, rlog)
            raise
        self.fire(step.rid, phases.ok, duration=round(time.monotonic() - t0, 6))
        if step.direction == "start":
            self.changed.append(step.rid)
        self.mirror_guest(guest, rlog)

    @staticmethod
    def mirror_guest(guest, log):
        """After a guest command: pull the guest's journal into its mirror (var/mirrors/), so the cluster
        views hold both levels of the action. A guest that cannot be read is a warning, never a failure."""
        from core.errors import OsvcError
        from engine.pull import pull

        try:
            pull(guest.node, [guest.peer()], log)
        except OsvcError as exc:
            log.warning(f"the journal of {guest.name} is not mirrored: {exc}")

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
            self.session.record("observation", "status", rid=rid, durable=False,
                                payload={"status": value, "log": logs, "believed": model.state})
            if can(model, trigger):
                self.fire(rid, trigger, status=value)

    # --- the action ------------------------------------------------------------------------------
    def plan(self, action):
        """{sub-action: steps} of the action (restart: stop then start; boot: start or startstandby)."""
        if action in SYNC_ACTIONS or action in SYNC_HOOKS:
            return self.sync_plan(action)
        actions = COMPOSITE.get(action, (action,))
        if action == "boot":
            autostart = self.spec.default.get("autostart_node") or []
            actions = ("start",) if self.node.name in autostart else ("startstandby",)
        request = self.request
        scoped = request.rid or request.tags or request.subsets
        selected = planner.select(self.spec.resources, request.rid, request.tags, request.subsets) if scoped else None
        master, containers, note = encap.halves(self.spec, request, selected)
        if note:
            self.log.info(note)
        guest_steps = [encap.step_rid(rid) for rid in containers]
        steps = {}
        for a in actions:
            host = planner.plan("stop" if a == "shutdown" else a, self.spec.resources, rid=request.rid,
                                tags=request.tags, subsets=request.subsets,
                                standby=self.starts_on_standby) if master else []
            steps[a] = planner.with_guests(host, vocabulary.direction(a), guest_steps)
        return steps

    def run(self):
        action = self.request.action
        steps = self.plan(action)
        if self.request.dry_run:
            return self.dry_run(steps)
        with self.session:
            reason = self.guards(action)
            if reason:
                self.session.refuse(reason)
            lock_name = self.svc + (".sync" if action in SYNC_ACTIONS else "")   # hooks: the service lock
            with self.session.lock(action, lock_name):
                return self.run_locked(action, steps)

    def selected(self):
        """The resources --rid/--tags/--subsets select that this node acts on (not disabled, not in a guest)."""
        request = self.request
        return [r for r in planner.select(self.spec.resources, request.rid, request.tags, request.subsets)
                if not r.disabled and not r.in_guest]

    def journal_config(self):
        """Journal the env file's text when it changed since the last action (replay needs it)."""
        last = self.session.journal.read(svc=self.svc, kind="config", last=1)
        if last and last[0]["payload"].get("digest") == self.spec.digest:
            return
        self.session.record("config", "env", payload={"digest": self.spec.digest, "text": self.spec.text,
                                                      "path": str(self.spec.path)})

    def run_locked(self, action, steps):
        from engine.recovery import recover

        t0 = time.monotonic()
        recover(self.node, self.svc, self.session.journal, self.spec, self.log)   # an interrupted action first
        self.journal_config()
        resumes = self.request.resumes
        self.session.record("action", "begin", payload=self.session.begin_payload(
            digest=self.spec.digest, steps={a: [s.rid for s in st] for a, st in steps.items()},
            **({"resumes": resumes} if resumes else {})))
        self.models = self._models()
        service_avail = None
        if action in SYNC_ACTIONS:     # a sync refuses to push from a node where the service is not up
            from engine.refresh import current_document

            service_avail = current_document(self.node, self.svc).get("avail")
        drivers = self.session.drivers(service_avail=service_avail)
        error = None
        try:
            for sub in steps:
                self.current = sub
                if sub in SYNC_ACTIONS or sub in SYNC_HOOKS:
                    self.run_sync_sub(sub, steps[sub], drivers)
                else:
                    self.run_sub(sub, steps[sub], drivers)
        except JournalError:
            # Write-ahead: what cannot be journaled must not happen, so nothing more is done, not even the
            # end record or a rollback; the action stays open and `recover` closes it against reality.
            raise
        except Exception as exc:  # every other failure ends the action cleanly
            error = exc
            if not isinstance(exc, OsvcError):
                self.log.error(f"unexpected error: {exc!r}")
        except BaseException as exc:   # Ctrl-C, SystemExit: the action ends as failed, then they go on
            self.end_action(action, t0, exc, drivers)
            raise
        self.end_action(action, t0, error, drivers)
        return self.session.outcome(error)

    def end_action(self, action, t0, error, drivers, **extra):
        """Save the states, journal the action's end (`extra` joins its payload), refresh the status."""
        self.save_states()
        end = {"action": action, **extra, "outcome": "ok" if error is None else "failed",
               "rc": 0 if error is None else 1, "duration": round(time.monotonic() - t0, 6)}
        if error is not None:
            end["error"] = str(error) or type(error).__name__    # Ctrl-C: KeyboardInterrupt
        self.session.record("action", "end", payload=end)
        self.refresh(drivers)
        from machines.core import detach_all

        detach_all(self.models.values())     # the shared machines keep no model of an ended action

    def run_sub(self, action, steps, drivers):
        direction = vocabulary.direction(action)
        svc_step = PHASES[("service", direction)]
        svc_begin, svc_ok, svc_failed = svc_step.begin, svc_step.ok, svc_step.failed
        self.fire("", svc_begin, True, action=action)      # relaxed: a step's durable begin precedes any effect
        if direction == "start":
            from engine.probe import prepare

            prepare([drivers[s.rid] for s in steps if s.family != "encap" and drivers.get(s.rid) is not None],
                    "prepare_start")
        try:
            for group in self.parallel_groups(steps):
                if len(group) > 1:
                    self.run_parallel(group, drivers)
                else:
                    self.run_step(group[0], drivers)
        except JournalError:
            raise
        except Exception as exc:
            self.fire("", svc_failed, reason=str(exc))
            self.loggers(getattr(exc, "rid", "")).error(str(exc))     # "": the service's own logger
            if action in START_FAMILY:
                self.rollback(action, drivers)
            raise
        self.fire("", svc_ok, True)      # relaxed: the action's end (durable) follows, or the next sub-action's begin

    def parallel_groups(self, steps):
        """The steps in runs: the consecutive resources of one `[subset#<family>:<name>] parallel =
        true` set form one run, every other step is a run of its own (docs/agent-reference.md §1.9)."""
        subsets = self.spec.default.get("subsets") or {}
        groups, last = [], None
        for step in steps:
            if step.family == "encap":         # a guest step is never part of a subset
                groups.append([step])
                last = None
                continue
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
        from core import forked
        from machines.core import restore

        if not forked.alone():   # a fork copies one thread: a lock another one holds stays held
            self.log.info("a thread runs: the parallel subset runs one resource after the other")
            for step in steps:
                self.run_step(step, drivers)
            return
        self.log.info(f"run {', '.join(s.rid for s in steps)} in parallel")

        def job(step):
            def call():
                self.session.reopen()     # the child's own connection: the parent's stays the parent's
                error = journal_error = None
                try:
                    self.run_step(step, drivers)
                except JournalError as exc:
                    journal_error = str(exc)
                except Exception as exc:
                    error = str(exc) or repr(exc)
                return {"state": self.models[step.rid].state, "changed": step.rid in self.changed,
                        "error": error, "journal_error": journal_error}
            return call

        failed, journal_errors = [], []
        for step, res in zip(steps, forked.run([job(s) for s in steps])):
            if res.get("state"):
                restore(self.models[step.rid], res["state"])
            if res.get("changed"):
                self.changed.append(step.rid)
            if res.get("error"):
                failed.append(f"{step.rid}: {res['error']}")
            if res.get("journal_error"):
                journal_errors.append(res["journal_error"])
        if journal_errors:
            raise JournalError(journal_errors[0])
        if failed:
            raise ActionFailed("; ".join(failed))

    def rollback(self, action, drivers):
        default = self.spec.default
        if self.request.disable_rollback:
            self.log.info(f"skip rollback {action}: as instructed by --disable-rollback")
            return
        if default.get("rollback") is False:
            self.log.info(f"skip rollback {action}: as instructed by DEFAULT.rollback=false")
            return
        if not self.changed:
            self.log.info(f"skip rollback {action}: no resource activated")
            return
        rids = list(dict.fromkeys(self.changed))
        self.log.info(f"trying to rollback {action} on {', '.join(rids)}")
        self.fire("", "rollback", True)     # relaxed: each rollback step's begin is durable before it acts
        # the guests first (b1.8:lib/svc.py:2452-2461), then what the host started, in stop order
        guests = [planner.Step(r, "encap", "stop") for r in reversed(rids) if r.startswith("encap:")]
        stop_steps = guests + planner.plan("stop", [self.spec.resource(r) for r in rids if not r.startswith("encap:")])
        failed = False
        for step in stop_steps:
            try:
                if step.family == "encap":
                    self.run_guest_step(step, drivers, words=["stop"])
                else:
                    self.run_step(step, drivers, rollback=True)
            except JournalError:
                raise
            except Exception as exc:
                failed = True
                self.loggers(step.rid).error(f"rollback: {exc}")
        if failed:
            self.log.error(f"rollback {action} failed")
        self.fire("", "rolled_back" if not failed else "rollback_failed", True)   # the action's end follows

    def refresh(self, drivers):
        from engine.probe import evaluate
        from engine.states import write_cache

        states = {rid: m.state for rid, m in self.models.items()}
        try:
            doc = evaluate(self.node, self.spec, drivers, states)
            write_cache(self.node, self.svc, doc)
        except DiskFull as exc:   # after the end record: the action is closed, only its status is not cached
            raise DiskFull(f"{exc.head}: action '{self.request.action}' [act:{self.action_id[:8]}] of {self.svc} "
                           f"ended and is journaled, its status was not cached", exc.mount,
                           then=f"run `osvc-engine -s {self.svc} print status --refresh`") from None
        except Exception as exc:  # the action's outcome stands; the next status --refresh rebuilds the cache
            self.log.warning(f"status refresh failed: {exc}")
            return
        from engine.history.observations import after_evaluation

        after_evaluation(self.node, self.svc, self.session.journal, doc, self.action_id, self.log)  # status record, snapshot

    def dry_run(self, steps):
        """Print the planned steps and the transitions each would journal; touch nothing."""
        from machines.defs import dest_of, machine_def

        states = self.dry_run_states(steps)
        for action, planned in steps.items():
            print(f"{self.svc}: {action}")
            if not planned:
                print("  nothing to do")
            for step in planned:
                if step.family == "encap":
                    self.dry_run_guest(step, action)
                    continue
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

    def dry_run_states(self, steps):
        """rid -> the state a dry run starts from: the recorded one, moved the way observe() would move it when
        the probe (quiet probe drivers, engine.probe) sees the resource otherwise now (issue 17, item 20: a
        filesystem found mounted is planned `up -> stopping -> down`). Nothing is journaled."""
        from engine.probe import resource_status
        from engine.session import probe_drivers
        from engine.states import load_states
        from machines.defs import dest_of, machine_def

        states = load_states(self.node, self.svc)
        rids = [s.rid for action, planned in steps.items() if action not in SYNC_ACTIONS
                for s in planned if s.family != "encap"]
        if not rids:
            return states
        drivers = probe_drivers(self.node, self.spec, self.request)
        for rid in dict.fromkeys(rids):
            res = self.spec.resource(rid)
            kind = machine_of(res.family)
            state = states.get(rid) or machine_def(kind).initial
            value, _ = resource_status(res, drivers.get(rid))
            seen_up = value in ("up", "stdby up")
            if value in ("up", "stdby up", "down", "stdby down") and is_up(state) != seen_up:
                state = dest_of(kind, "observed_up" if seen_up else "observed_down", state) or state
            states[rid] = state
        return states

    def dry_run_guest(self, step, action):
        """The guest engine's own dry run of the action, indented under its step (it touches nothing)."""
        from engine.session import probe_drivers

        container_rid = step.rid.split(":", 1)[1]
        drivers = probe_drivers(self.node, self.spec, self.request)
        guest = self.guest(step.rid, drivers)
        if not guest.is_up():
            print(f"  {step.direction:<5} {step.rid:<14} skip: the container {guest.name} is not running here")
            return
        print(f"  {step.direction:<5} {step.rid:<14} the engine in {guest.name} ({container_rid}):")
        try:
            result = guest.run(drivers[container_rid].ctx.run, [action], request=self.request,
                               timeout=encap.QUERY_TIMEOUT, quiet=True)
            lines = (result.out or result.err).splitlines()
        except encap.Unjoinable as exc:
            lines = [str(exc)]
        for line in lines:
            print(f"    {line}")

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


def run_action(node, svc, request):
    """cli handler for every state-changing action."""
    return Executor(node, svc, request).run()
