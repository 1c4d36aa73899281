"""One journaled action of one service: the only place that mints an action id, opens the journal
for it, builds its records, journals a refusal, takes the service lock and makes the loggers and
drivers it acts through.

    with Session(node, "web", request) as s:         # the journal is open inside
        if frozen:
            s.refuse(s.frozen_message())             # journaled `action refused`, raises Refused
        with s.lock():                               # --waitlock, else DEFAULT.lock_timeout, else 60 s
            s.record("action", "begin", payload=s.begin_payload(steps=...))
            model = Model(rid, journal=s.transition_sink(rid))   # write-ahead transitions
            drivers = s.drivers()                    # each resource's commands journaled under its rid

Used by the executor and the relocation (engine/executor.py, engine/relocation.py), recovery (under
the interrupted action's id), diskupdate (engine/commands/pr.py) and freeze/thaw
(engine/commands/service.py). Probes (status, recovery, prstatus) make their drivers with
`probe_drivers`: one quiet runner, nothing journaled.

Observers: `observer(record, seq)` callables run after each record a session appends. The test-only
crash injection is one: OSVC_CRASH_AT_TRANSITION=N (read once, when the session is made) SIGKILLs
the process right after the session's Nth transition; tests may install their own in-process.
"""

import contextlib
import getpass
import os
import sys

from core import lineage
from core.errors import OsvcError

CRASH_ENV = "OSVC_CRASH_AT_TRANSITION"
DEFAULT_LOCK_TIMEOUT = 60.0
FROZEN_MESSAGE = "Abort action '{action}' for frozen service. Use --force to override."


class Refused(OsvcError):
    """A guard refused the action before any effect."""


class ActionFailed(OsvcError):
    """A resource action failed (after rollback, if any)."""


def new_action_id() -> str:
    """The id of a new action: the inherited one, else 16 random hex digits."""
    return lineage.inherited_action_id() or os.urandom(8).hex()


def boot_id() -> str:
    """This boot's id (a begin record's; recovery compares it to tell a reboot)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


class CrashAt:
    """Observer, test-only: SIGKILL this process right after the session's nth transition."""

    def __init__(self, n: int):
        self.n, self.seen = n, 0

    def __call__(self, record, seq):
        if record.get("kind") != "transition":
            return
        self.seen += 1
        if self.seen == self.n:
            import signal

            os.kill(os.getpid(), signal.SIGKILL)


def crash_observer():
    """CrashAt(N) when OSVC_CRASH_AT_TRANSITION=N is set, else None."""
    at = os.environ.get(CRASH_ENV)
    return CrashAt(int(at)) if at else None


def probe_drivers(node, spec, request=None, *, runners=None, **settings):
    """rid -> Driver for probing (status, recovery, prstatus): one quiet runner shared by every
    resource (probes are not journaled as commands) unless `runners(rid)` is given. `settings`:
    build_drivers' (share, Context fields)."""
    from core.log import resource_logger, service_logger
    from drivers.registry import build_drivers

    if runners is None:
        from drivers.runner import Runner

        runner = Runner()
        runners = lambda rid: runner
    service_logger(node, spec.name)      # a resource logger's records go to its service's handlers
    return build_drivers(node, spec, runners=runners, loggers=lambda rid: resource_logger(spec.name, rid),
                         opts=request, **settings)


class _WithoutHlcMark:
    """A launched engine's log as the runner logs it, without its `osvc-last-hlc=` line (core.lineage):
    machinery, not news; a stderr holding nothing else is not logged ("command succesful but stderr")."""

    def __init__(self, log):
        self.log = log

    def __getattr__(self, level):
        def emit(text, *args, **kw):
            lines = str(text).split("\n")
            kept = [x for x in lines if not x.startswith(lineage.LAST_HLC_MARK)]
            if len(lines) == 1 or any(x.strip() for x in kept[1:]):   # a prefix line and something else
                getattr(self.log, level)("\n".join(kept), *args, **kw)
        return emit


class Session:
    """One journaled action: `action_id`, `journal` (open inside `with`), `log` and `loggers(rid)`,
    `spec` (loaded on first use), the records, the refusal, the lock, the drivers.

    action_id: given (recovery writes under the interrupted action's), else minted; mint=False for
    records that belong to no action (freeze, thaw, a status refresh): the inherited id or ''.
    journal: a connection the caller owns (kept open), else one the session opens and closes.
    observers: None for the default (the crash injection when its variable is set), or a list."""

    def __init__(self, node, svc, request, *, spec=None, action_id=None, mint=True, journal=None, log=None,
                 observers=None):
        self.node, self.svc, self.request = node, svc, request
        if action_id is None:
            action_id = new_action_id() if mint else lineage.inherited_action_id()
        self.action_id = action_id
        self._spec = spec
        self.journal = journal
        self._owns_journal = journal is None
        if log is None:
            from core.log import service_logger

            log = service_logger(node, svc)
        self.log = log
        if observers is None:
            crash = crash_observer()
            observers = [crash] if crash is not None else []
        self.observers = list(observers)
        self.parent = lineage.inherited_parent()   # the remote or guest record that launched this action
        self.last = None                           # (seq, hlc) of the last record this session appended
        self._relaxed = False                      # transitions journaled relaxed (Session.relaxed)

    # --- resources ----------------------------------------------------------------------------
    @property
    def spec(self):
        if self._spec is None:
            from config.build import load_service

            self._spec = load_service(self.node, self.svc)
        return self._spec

    def loggers(self, rid):
        """The resource's logger, `SVC.RID` (its records go to the service's handlers)."""
        from core.log import resource_logger

        return resource_logger(self.svc, rid)

    # --- journal ------------------------------------------------------------------------------
    def open(self):
        if self.journal is None:
            from journal.store import Journal

            self.journal = Journal(self.node.journal_path)
        if self.parent is not None:      # our records order after the one that launched us
            self.journal.observe_hlc(self.parent.hlc)
        return self

    def reopen(self):
        """A connection of this process's own (a forked child: the parent's stays the parent's)."""
        from journal.store import Journal

        self.journal, self._owns_journal = Journal(self.node.journal_path), True
        return self

    def close(self):
        if self.parent is not None and self.last is not None and self.journal is not None:
            # the caller orders its next records after ours (core.lineage): our last hlc, on stderr
            print(f"{lineage.LAST_HLC_MARK}{self.journal.last_hlc}", file=sys.stderr, flush=True)
        if self._owns_journal and self.journal is not None:
            self.journal.close()
            self.journal = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()
        return False

    def record(self, kind, event="", rid="", durable=True, **fields):
        """Append one record of this action (node, svc, action id filled in); returns its seq."""
        rec = {"node": self.node.name, "svc": self.svc, "rid": rid, "kind": kind, "event": event,
               "action_id": self.action_id, "payload": fields.pop("payload", {}), **fields}
        seq = self.journal.append_one(rec, durable=durable)
        self.last = (seq, self.journal.last_hlc)
        for observer in self.observers:
            observer(rec, seq)
        return seq

    def transition_sink(self, rid):
        """A machine model's journal hook: each transition journaled before it happens, durably unless
        fired inside `relaxed()`."""
        def sink(rec):
            self.record(rec.get("kind", "transition"), rec.get("event", ""), rid=rid, machine=rec.get("machine", ""),
                        src=rec.get("src", ""), dst=rec.get("dst", ""), payload=rec.get("payload", {}),
                        durable=not self._relaxed)
        return sink

    @contextlib.contextmanager
    def relaxed(self):
        """Transitions fired inside are journaled relaxed (no fsync of their own): only for a transition no
        effect follows before this action's next durable record (the next step's begin, the action's end),
        whose fsync makes it durable too (docs/journal.md: a durable commit syncs the WAL as a whole). A
        power loss can then lose it only with nothing acted on after it: the resource stays in the
        transient state the durable begin left, which recovery probes (engine/recovery.py)."""
        previous, self._relaxed = self._relaxed, True
        try:
            yield
        finally:
            self._relaxed = previous

    def command_sink(self, rid, **extra):
        """The runner's sink: each command it ran becomes a `command` record (`extra` joins the payload)."""
        def sink(rec):
            payload = {**rec.get("payload", {}), **extra}
            argv = payload.get("argv") or [""]
            self.record("command", event=os.path.basename(str(argv[0])), rid=rid, durable=False, payload=payload)
        return sink

    def runner(self, rid, **extra):
        """A command runner logging under the resource's logger and journaling under its rid."""
        from drivers.runner import Runner

        return Runner(log=self.loggers(rid) if rid else self.log, sink=self.command_sink(rid, **extra))

    def drivers(self, spec=None, **settings):
        """rid -> Driver acting for this action: the request's flags, a journaling runner per
        resource. `settings`: build_drivers' (share, Context fields such as service_avail)."""
        from drivers.registry import build_drivers

        return build_drivers(self.node, spec or self.spec, loggers=self.loggers, opts=self.request,
                             runners=self.runner, **settings)

    # --- causality (core.lineage) ---------------------------------------------------------------
    def child_env(self) -> dict:
        """The variables of an engine this action launches (remote node, guest): this action's id and,
        as its parent, the last record journaled (the one that says what is launched)."""
        parent = None
        if self.last is not None:
            parent = lineage.Parent(self.node.name, self.journal.uuid, *self.last)
        return lineage.child_env(self.action_id, parent)

    def observe_child(self, output: str):
        """The launched engine returned: order our next records after its last one."""
        hlc = lineage.last_hlc_of(output or "")
        if hlc is not None and self.journal is not None:
            self.journal.observe_hlc(hlc)

    def launch(self, transport, peer, argv, *, timeout, check=False, rid="", log=None):
        """Run `argv` (an `osvc-engine ...` command) on `peer` as part of this action; the runner's
        Result. First the launching record (`action launch`, durable: the peer acts after it), whose
        (node, journal, seq, hlc) the peer's engine gets as its parent with this action's id, in the
        remote command line (drivers.transport `remote_env`); the peer's last hlc is observed before the
        command's own record is journaled, so a merged timeline reads launch < the peer's records <
        the command's return whatever the clocks say (core.lineage)."""
        argv = [str(a) for a in argv]
        run, env = self.launcher(rid, peer, argv)
        return transport.run(run, peer, argv, timeout=timeout, check=check, log=log, remote_env=env)

    def launcher(self, rid, to, argv):
        """(run, env) for a command that launches an engine elsewhere, `to` a peer node or a guest
        (engine/encap.py): the launching record is journaled first; `env` names it as the callee's
        parent; `run` is a runner's whose command record observes the callee's last hlc first."""
        from drivers.runner import Runner

        self.record("action", "launch", rid=rid, payload={"argv": [str(a) for a in argv], "to": to})
        sink = self.command_sink(rid)

        def observed(rec):
            self.observe_child(rec.get("payload", {}).get("err_tail", ""))
            sink(rec)

        runner = Runner(log=_WithoutHlcMark(self.loggers(rid) if rid else self.log), sink=observed)
        return runner.run, self.child_env()

    # --- payloads -----------------------------------------------------------------------------
    def who(self) -> dict:
        """Who asks: the command line, the user, the pid (begin and refusal payloads)."""
        argv = list(self.request.argv) if self.request is not None else []
        return {"argv": argv, "user": getpass.getuser(), "pid": os.getpid()}

    def begin_payload(self, head=None, **fields) -> dict:
        """The payload of the action's `begin` record: the action, `head` (relocation: to), who,
        where, `fields` (digest, steps...), and the request's journaled fields (resume reads them)."""
        request = self.request
        parent = {"parent": self.parent.as_payload()} if self.parent is not None else {}
        return {"action": request.action, **(head or {}), **self.who(), "boot_id": boot_id(),
                "node": self.node.name, **parent, **fields, "request": request.journaled()}

    def frozen_message(self, action=None) -> str:
        return FROZEN_MESSAGE.format(action=action or self.request.action)

    def refuse(self, reason, cls=Refused, action=None, **extra):
        """Journal the refusal (`action refused`: action, reason, argv, user, pid, + `extra`), log it, raise."""
        self.log.error(reason)
        self.open()
        self.record("action", "refused", payload={"action": action or self.request.action, "reason": reason,
                                                  **self.who(), **extra})
        raise cls(reason)

    # --- lock -----------------------------------------------------------------------------------
    def lock_timeout(self) -> float:
        """--waitlock, else the service's DEFAULT.lock_timeout, else 60 s."""
        if self.request is not None and self.request.waitlock is not None:
            return float(self.request.waitlock)
        return float(self.spec.default.get("lock_timeout") or DEFAULT_LOCK_TIMEOUT)

    @contextlib.contextmanager
    def lock(self, intent=None, name=None, timeout=None):
        """The service lock (`name`: another lock file of the service, e.g. `<svc>.sync`). Not obtained in
        time, an action someone asked for is refused like a guard would refuse it: journaled `action refused`
        with the holder (issue 17, item 14: the audit shows who tried to act while the service was locked),
        then LockTimeout (exit 5). The engine's own probe (recovery's, no request) is not an action: its
        LockTimeout is only raised."""
        from core.errors import LockTimeout
        from core.lock import ServiceLock, holder

        lock = ServiceLock(self.node.lock_path(name or self.svc), intent or self.request.action,
                           self.lock_timeout() if timeout is None else timeout)
        try:
            lock.acquire()
        except LockTimeout as exc:
            if self.request is None:
                raise
            self.refuse(str(exc), cls=LockTimeout, action=intent, lock=lock.path, holder=holder(lock.path))
        try:
            yield lock
        finally:
            lock.release()

    # --- outcome --------------------------------------------------------------------------------
    @staticmethod
    def outcome(error):
        """The action's rc, or its failure raised as the CLI reports it."""
        if error is None:
            return 0
        if isinstance(error, OsvcError):
            raise error
        raise ActionFailed(str(error)) from error
