"""`osvc-engine journal audit`: what each action did, read back from the journal.

One entry per action (records grouped by service and action id): who ran it (user, pid), where (node),
when, its command line, outcome and duration, then

- resources: each resource's phases with their durations (`wait-ping 2.31s`) and where it ended,
- rollback: what a failed start undid, and how the undo went,
- recovery: the transitions crash recovery journaled (kind `transition`, event `recover_<state>`),
- timeline: one line per transition, command and observation, in the tail's format (journal.lines.line),
  so `journal tail -f` during an action prints exactly the lines the audit shows afterwards.

A phase is the time a machine spends in a transient state: it opens with the transition into the state
and closes with the next transition of that machine, whose payload `duration` the executor measured with
a monotonic clock (the wall-clock difference of the two records when a record has none).

Pure reading: nothing here writes to the journal. postmortem.report draws the same entries as a picture.
"""

import json
from core.record import Record, factory

from core.errors import UsageError
from domain.actions import AUDIT_KINDS, AUDIT_OF
from journal import lines as fmt
from machines.defs import BEGINS, STOP, leaving

KINDS = AUDIT_KINDS      # start, stop, failover, migration, rollback, recovery (domain.actions)

# Action name -> kinds (by name, for the actions that never reached a transition: a refusal): the
# audit column of domain.actions (startip: start, restart: stop and start, switch: failover...).
ACTION_KINDS = AUDIT_OF

# Service machine trigger -> kind: how the service machine says what the action really did.
SERVICE_TRIGGER_KINDS = {"start": "start", "stop": "stop", "migrate": "migration", "switch": "failover",
                         "rollback": "rollback"}
RECOVER_PREFIX = "recover_"

# Record kinds shown in the timeline (actions and configs are summed up in the entry's header).
# Recovery writes `transition` records (events recover_<state>): there is no `recovery` kind.
TIMELINE_KINDS = ("transition", "command", "observation")

# The service machine's triggers that close a rollback (rolled_back, rollback_failed), and the
# triggers that begin a resource's stop (stop, disable): machines.defs.
ROLLBACK_END = leaving("service", "rolling-back")
STOP_TRIGGERS = BEGINS[STOP]


class Phase(Record):
    rid: str
    state: str
    t0: int                  # ns, the transition into the state
    t1: int                  # ns, the transition out of it (the entry's end when it never left)
    duration: float          # seconds
    dst: str = ""            # where the machine went next ("" when it never left)
    event: str = ""          # the trigger that ended it
    failed: bool = False
    reason: str = ""

    @property
    def finished(self):
        return bool(self.event)


class Command(Record):
    rid: str
    ts: int                  # ns, when it was journaled (its end)
    argv: list
    rc: object
    duration: float
    out_tail: str = ""
    err_tail: str = ""
    timed_out: bool = False
    tolerated: bool = False  # a non-zero rc the driver went on after (tolerated_rc): not a failure

    @property
    def failed(self):
        return (self.rc != 0 or self.timed_out) and not self.tolerated

    @property
    def t0(self):
        return self.ts - int((self.duration or 0) * 1e9)


class Entry(Record):
    svc: str
    action_id: str
    records: list = factory(list)

    # -- the action's own records ----------------------------------------------------------------
    def _action(self, event):
        for rec in self.records:
            if rec["kind"] == "action" and rec["event"] == event:
                return rec
        return None

    @property
    def begin(self):
        return self._action("begin")

    @property
    def end(self):
        return self._action("end")

    @property
    def refused(self):
        return self._action("refused")

    @property
    def head(self):
        """The record that describes the action: its begin, its refusal, else its first record."""
        return self.begin or self.refused or self.records[0]

    @property
    def action(self):
        p = self.head["payload"]
        return str(p.get("action") or (self.end or {}).get("payload", {}).get("action") or "-")

    @property
    def user(self):
        return self.head["payload"].get("user", "")

    @property
    def pid(self):
        return self.head["payload"].get("pid")

    @property
    def node(self):
        return self.head["payload"].get("node") or self.head["node"]

    @property
    def argv(self):
        return list(self.head["payload"].get("argv") or [])

    @property
    def t0(self):
        return self.head["ts"]

    @property
    def t1(self):
        """The end record's time; an action without one (running, or killed and not recovered yet) ends
        at its last record. An `interrupted` end is journaled by the process that recovered it: the
        action stayed open until then, and its last phase lasted until then."""
        end = self.end
        return end["ts"] if end else max(r["ts"] for r in self.records)

    @property
    def outcome(self):
        if self.refused:
            return "refused"
        end = self.end
        if end:
            return str(end["payload"].get("outcome") or ("ok" if end["payload"].get("rc") == 0 else "failed"))
        if self.begin:
            return "unfinished"        # still running, or interrupted and not recovered yet
        return "recovery" if self.recoveries else "-"

    @property
    def rc(self):
        return (self.end or {}).get("payload", {}).get("rc")

    @property
    def duration(self):
        """Seconds: the executor's own measure (monotonic) when its end has one, else the records' times."""
        dur = (self.end or {}).get("payload", {}).get("duration")
        return float(dur) if isinstance(dur, (int, float)) else (self.t1 - self.t0) / 1e9

    @property
    def error(self):
        return (self.end or {}).get("payload", {}).get("error", "")

    @property
    def reason(self):
        return (self.refused or {}).get("payload", {}).get("reason", "")

    @property
    def interrupted(self):
        """For an action closed as interrupted: why, and who recovered it ({pid, user, argv})."""
        end = self.end
        if not end or end["payload"].get("outcome") != "interrupted":
            return None
        p = end["payload"]
        return {"reason": str(p.get("reason") or ""), "recovered_by": p.get("recovered_by") or {}}

    @property
    def config(self):
        for rec in self.records:
            if rec["kind"] == "config":
                return rec
        return None

    # -- what it did ---------------------------------------------------------------------------------
    def transitions(self):
        return [r for r in self.records if r["kind"] == "transition"]

    @property
    def recoveries(self):
        return [r for r in self.transitions() if r["event"].startswith(RECOVER_PREFIX)]

    @property
    def kinds(self):
        found = set(ACTION_KINDS.get(self.action, ()))
        for rec in self.transitions():
            if rec["event"].startswith(RECOVER_PREFIX):
                found.add("recovery")
            elif not rec["rid"] and rec["event"] in SERVICE_TRIGGER_KINDS:
                found.add(SERVICE_TRIGGER_KINDS[rec["event"]])
        return [k for k in KINDS if k in found]

    @property
    def phases(self):
        """Every phase of every machine (the service's rid is ""), in the order they opened."""
        from machines.defs import MACHINES

        opened, done = {}, []
        for rec in self.transitions():
            rid, ts, payload = rec["rid"], rec["ts"], rec["payload"]
            cur = opened.pop(rid, None)
            if cur is not None:
                dur = payload.get("duration")
                cur.t1 = ts
                cur.duration = float(dur) if isinstance(dur, (int, float)) else (ts - cur.t0) / 1e9
                cur.dst, cur.event = rec["dst"], rec["event"]
                cur.failed = rec["event"].endswith("_failed")    # rolled_back lands in start-failed, cleanly
                cur.reason = str(payload.get("reason") or "")
            mdef = MACHINES.get(rec["machine"])
            transient = mdef.transient if mdef else ()
            if rec["dst"] in transient and not rec["event"].startswith(RECOVER_PREFIX):
                phase = Phase(rid, rec["dst"], ts, ts, 0.0)
                opened[rid] = phase
                done.append(phase)
        end = self.t1
        for phase in opened.values():        # never left: the action ended (or died) in it
            phase.t1 = max(end, phase.t0)
            phase.duration = (phase.t1 - phase.t0) / 1e9
        return done

    def _following(self):
        following = {}          # id(command record) -> the next command or transition of its rid
        nxt = {}
        for rec in reversed(self.records):
            if rec["kind"] in ("command", "transition"):
                if rec["kind"] == "command":
                    following[id(rec)] = nxt.get(rec["rid"])
                nxt[rec["rid"]] = rec
        return following

    @property
    def commands(self):
        out = []
        following = self._following()
        for rec in self.records:
            if rec["kind"] != "command":
                continue
            p = rec["payload"]
            dur = p.get("duration")
            out.append(Command(rec["rid"], rec["ts"], list(p.get("argv") or []), p.get("rc"),
                               float(dur) if isinstance(dur, (int, float)) else 0.0,
                               str(p.get("out_tail") or ""), str(p.get("err_tail") or ""),
                               bool(p.get("timeout")), tolerated_rc(p, following[id(rec)])))
        return out

    @property
    def rollback(self):
        """None, or {"undid": [(rid, final state)...], "outcome": rolled_back|rollback_failed|unfinished}."""
        start = None
        undid, outcome = {}, "unfinished"
        for rec in self.transitions():
            if not rec["rid"] and rec["event"] == "rollback":
                start = rec["seq"]
            elif start is None:
                continue
            elif not rec["rid"] and rec["event"] in ROLLBACK_END:
                outcome = rec["event"]
            elif rec["rid"] and (rec["event"] in STOP_TRIGGERS or rec["rid"] in undid):
                undid[rec["rid"]] = rec["dst"]
        if start is None:
            return None
        return {"undid": list(undid.items()), "outcome": outcome}

    @property
    def status(self):
        """The status the engine observed at the end of the action (its `observation`/`status` record:
        per rid [status, log], overall, avail), or None."""
        found = [r for r in self.records if _is_status(r)]
        return found[-1]["payload"] if found else None

    def timeline(self):
        """The tail's lines of this action's transitions, commands and resource observations (the
        service's status document is summed up in the header, not dumped on a line)."""
        following = self._following()
        return [fmt.line(_judged(r, following)) for r in self.records
                if r["kind"] in TIMELINE_KINDS and not _is_status(r)]

    def to_dict(self):
        rb = self.rollback
        return {
            "svc": self.svc, "action_id": self.action_id, "action": self.action, "kinds": self.kinds,
            "user": self.user, "pid": self.pid, "node": self.node, "argv": self.argv,
            "begin_ns": self.t0, "end_ns": self.t1, "outcome": self.outcome, "rc": self.rc,
            "duration": round(self.duration, 6), "error": self.error, "reason": self.reason,
            "interrupted": self.interrupted, "status": self.status,
            "config_digest": (self.config or {}).get("payload", {}).get("digest"),
            "phases": [{"rid": p.rid, "state": p.state, "begin_ns": p.t0, "end_ns": p.t1,
                        "duration": round(p.duration, 6), "dst": p.dst, "event": p.event,
                        "failed": p.failed, "finished": p.finished, "reason": p.reason}
                       for p in self.phases],
            "commands": [{"rid": c.rid, "ts": c.ts, "argv": c.argv, "rc": c.rc,
                          "duration": round(c.duration, 6), "timeout": c.timed_out, "tolerated": c.tolerated,
                          "out_tail": c.out_tail, "err_tail": c.err_tail} for c in self.commands],
            "rollback": None if rb is None else {"undid": [{"rid": r, "state": s} for r, s in rb["undid"]],
                                                 "outcome": rb["outcome"]},
            "recoveries": [{"rid": r["rid"], "event": r["event"], "src": r["src"], "dst": r["dst"],
                            "ts": r["ts"]} for r in self.recoveries],
            "transitions": [{"seq": r["seq"], "ts": r["ts"], "rid": r["rid"], "machine": r["machine"],
                             "event": r["event"], "src": r["src"], "dst": r["dst"], "payload": r["payload"]}
                            for r in self.transitions()],
        }


def _judged(rec, following):
    """A command record whose runner said `tolerated` shown with the audit's judgement (tolerated_rc):
    a launcher's rc the runner went on after but its driver then failed on is not "(tolerated)"."""
    if rec["kind"] != "command" or "tolerated" not in (rec.get("payload") or {}):
        return rec
    payload = {**rec["payload"], "tolerated": tolerated_rc(rec["payload"], following.get(id(rec)))}
    return {**rec, "payload": payload}


def tolerated_rc(payload, following):
    """Is this command's non-zero rc one its driver tolerated (the gratuitous arping nobody answers, rc 1)?
    The runner says so (`tolerated: true`: it ran the command with check=False and did not raise;
    `tolerated: false`: it raised), but the driver may still fail on the rc it reads: a tolerated rc is
    one after which the resource went on, its next record (`following`, of the same rid) being another
    command or a transition that is not a failure (`*_failed`). Records without the key (journaled
    before the runner said it) are judged by that alone; with no next record (the action died right
    after), only the runner's word counts."""
    rc = payload.get("rc")
    if not isinstance(rc, int) or rc == 0 or payload.get("timeout") or payload.get("tolerated") is False:
        return False
    if following is None:
        return payload.get("tolerated") is True
    return following["kind"] == "command" or not following["event"].endswith("_failed")


def _is_status(rec):
    return rec["kind"] == "observation" and rec["event"] == "status" and not rec["rid"]


def status_text(payload):
    """`up`, or `warn: app#3 down`: the overall status, then the resources that differ from it."""
    overall = str(payload.get("overall") or "n/a")
    values = {rid: (v[0] if isinstance(v, list) else v) for rid, v in (payload.get("resources") or {}).items()}
    odd = [f"{rid} {v}" for rid, v in values.items() if v not in (overall, "n/a")]
    return overall + (f": {', '.join(odd)}" if odd else "")


# -- reading --------------------------------------------------------------------------------------
def group(records):
    """Decoded records -> entries, in the order each action first appears. Records without an
    action id (freeze, thaw) are no action's."""
    entries = {}
    for rec in records:
        aid = rec.get("action_id")
        if not aid:
            continue
        key = (rec["svc"], aid)
        entry = entries.get(key)
        if entry is None:
            entry = entries[key] = Entry(rec["svc"], aid)
        entry.records.append(rec)
    return list(entries.values())


def _complete(entry):
    """An entry whose start is in the records read: a begin, a refusal, or a recovery of its own.
    With --since, an action begun earlier shows only its tail: it is left out, not shown half."""
    return bool(entry.begin or entry.refused or entry.recoveries)


def entries(journal, svc=None, kind=None, since_ns=None, action_id=None):
    """The audit entries of the journal, oldest first."""
    if kind is not None and kind not in KINDS:
        raise UsageError(f"unknown audit kind {kind!r}: use one of {', '.join(KINDS)}")
    from journal.store import decode

    rows = journal.scan(svc=svc, since_ns=since_ns, action_id=action_id)
    found = [e for e in group(decode(r) for r in rows) if _complete(e)]
    if kind is not None:
        found = [e for e in found if kind in e.kinds]
    return found


# -- text -------------------------------------------------------------------------------------------
LABEL = 12      # the header's key column


def _when(ts_ns):
    return f"{fmt.date_of(ts_ns)} {fmt.clock(ts_ns)}"


def _argv(argv):
    import shlex

    return shlex.join(map(str, argv)) if argv else "-"


def _rid_name(svc, rid):
    return rid or svc


def _resource_lines(entry):
    """One line per machine: its phases with durations, then where it ended."""
    by_rid = {}
    for phase in entry.phases:
        by_rid.setdefault(phase.rid, []).append(phase)
    if not by_rid:
        return []
    width = max(len(_rid_name(entry.svc, rid)) for rid in by_rid)
    lines = []
    for rid, phases in by_rid.items():
        parts = []
        for i, p in enumerate(phases):
            text = f"{p.state} {fmt.duration(p.duration)}"
            following = phases[i + 1].state if i + 1 < len(phases) else None
            if not p.finished:
                text += " (never left)"
            elif p.dst != following:          # the chain of phases ends here: say where it landed
                text += f" -> {p.dst}"
            if p.event.startswith(RECOVER_PREFIX):
                text += " (recovered)"
            if p.failed:
                text += " FAILED" + (f": {p.reason}" if p.reason else "")
            parts.append(text)
        lines.append(f"{_rid_name(entry.svc, rid):<{width}}  " + ", ".join(parts))
    return lines


def _header(entry):
    dur = fmt.duration(entry.duration)
    title = f"{entry.svc} {entry.action}: {entry.outcome}"
    if entry.outcome != "refused":
        title += f" after {dur}" if entry.outcome in ("ok", "failed", "interrupted") else f", {dur} so far"
    return f"{title} [act:{entry.action_id[:fmt.ACTION_ID_SHOWN]}]"


def interrupted_text(info):
    by = info["recovered_by"]
    who = by.get("user") or "?"
    if by.get("pid"):
        who += f" (pid {by['pid']})"
    text = info["reason"] or "the process died"
    return f"{text}; recovered by {who}" + (f": {_argv(by['argv'])}" if by.get("argv") else "")


def summary_rows(entry):
    """(key, value) rows describing the action: the audit's header, the report's summary table."""
    rows = [("kind", ", ".join(entry.kinds) or "-")]
    who = entry.user or "-"
    if entry.pid:
        who += f" (pid {entry.pid})"
    rows += [("who", who), ("where", entry.node or "-")]
    when = _when(entry.t0)
    if entry.t1 != entry.t0:
        when += f" -> {fmt.clock(entry.t1)}"
    rows += [("when", when), ("argv", _argv(entry.argv))]
    if entry.config:
        rows.append(("config", f"env file changed, digest {entry.config['payload'].get('digest', '')[:12]}"))
    if entry.reason:
        rows.append(("refused", entry.reason))
    if entry.error:
        rows.append(("error", entry.error))
    rb = entry.rollback
    if rb is not None:
        undid = ", ".join(f"{rid} ({state})" for rid, state in rb["undid"]) or "nothing"
        rows.append(("rollback", f"undid {undid}: {rb['outcome']}"))
    if entry.interrupted:
        rows.append(("interrupted", interrupted_text(entry.interrupted)))
    for rec in entry.recoveries:
        rows.append(("recovery", f"{_rid_name(entry.svc, rec['rid'])} {rec['src'] or '-'} -> {rec['dst']} "
                                 f"({rec['event']})"))
    if entry.status is not None:
        rows.append(("status", f"{status_text(entry.status)} after the action"))
    return rows


def text_entry(entry) -> str:
    rows = summary_rows(entry)
    for i, line in enumerate(_resource_lines(entry)):
        rows.append(("resources" if i == 0 else "", line))
    out = [_header(entry)]
    out += [f"  {key:<{LABEL}}{value}".rstrip() for key, value in rows]
    timeline = entry.timeline()
    if timeline:
        out.append("  timeline")
        out += [f"    {line}" for line in timeline]
    return "\n".join(out) + "\n"


def text(found) -> str:
    if not found:
        return "no action matches\n"
    return "\n".join(text_entry(e) for e in found)


def json_text(found) -> str:
    return json.dumps([e.to_dict() for e in found], indent=2, default=str, ensure_ascii=False) + "\n"



# -- the cluster view (journal audit --cluster) ----------------------------------------------------------
LAUNCH = ("action", "launch")     # the record that launched a remote or guest part (engine.session.launch)


class ClusterEntry:
    """One action across nodes: the part on the node that began it (`root`, an Entry of that node's
    records) and the parts it launched on peers or guests, each nested under its launching record
    (the parent its begin payload names: node and seq)."""

    def __init__(self, root):
        self.root = root
        self.children = []         # [(launching seq, ClusterEntry)]

    def __getattr__(self, name):   # svc, action_id, node, kinds... are the root's
        return getattr(self.root, name)

    def parts(self):
        yield self.root
        for _, child in self.children:
            yield from child.parts()

    def to_dict(self):
        return {**self.root.to_dict(), "parts": [{"launched_by": {"node": self.root.node, "seq": seq}, **c.to_dict()}
                                                  for seq, c in self.children]}


def cluster_entries(source, svc=None, kind=None, since_ns=None, action_id=None):
    """The cluster's audit entries (ClusterEntry), oldest first. `source` has `rows(**filters)`: stored
    rows of every journal merged on (hlc, node, seq) (postmortem.cluster.Sources)."""
    if kind is not None and kind not in KINDS:
        raise UsageError(f"unknown audit kind {kind!r}: use one of {', '.join(KINDS)}")
    from journal.store import decode

    prefix = action_id if action_id and len(action_id) < 16 else None     # an id's first characters
    exact = None if prefix else action_id
    filters = {k: v for k, v in {"svc": svc, "since_ns": since_ns, "action_id": exact}.items() if v is not None}
    groups = {}
    for rec in map(decode, source.rows(**filters)):
        if rec.get("action_id") and (prefix is None or rec["action_id"].startswith(prefix)):
            groups.setdefault((rec["svc"], rec["action_id"]), {}).setdefault(rec["node"], []).append(rec)
    found = []
    for (name, aid), by_node in groups.items():
        parts = {n: ClusterEntry(Entry(name, aid, recs)) for n, recs in by_node.items()}
        tops = []
        for n, part in parts.items():
            parent = (part.root.begin or {}).get("payload", {}).get("parent") or {}
            holder = parts.get(parent.get("node")) if parent.get("node") != n else None
            if holder is not None:
                holder.children.append((parent.get("seq"), part))
            else:
                tops.append(part)
        found += [p for p in tops if _complete(p.root)]
    found.sort(key=lambda e: (e.root.records[0]["hlc"], e.root.records[0]["node"], e.root.records[0]["seq"]))
    if kind is not None:
        found = [e for e in found if any(kind in p.kinds for p in e.parts())]
    return found


def _cluster_lines(entry, indent):
    """The entry's text with each launched part's text after its launching record's timeline line."""
    root = entry.root
    rows = summary_rows(root)
    for i, line in enumerate(_resource_lines(root)):
        rows.append(("resources" if i == 0 else "", line))
    pad = " " * indent
    out = [pad + _header(root) + (f" on {root.node}" if entry.children or indent else "")]
    out += [f"{pad}  {key:<{LABEL}}{value}".rstrip() for key, value in rows]
    following = root._following()
    launched = {}
    for seq, child in entry.children:
        launched.setdefault(seq, []).append(child)
    timeline = [r for r in root.records
                if (r["kind"] in TIMELINE_KINDS and not _is_status(r)) or (r["kind"], r["event"]) == LAUNCH]
    if timeline:
        out.append(f"{pad}  timeline")
    for rec in timeline:
        out.append(f"{pad}    {fmt.line(_judged(rec, following))}")
        for child in launched.pop(rec["seq"], []) if (rec["kind"], rec["event"]) == LAUNCH else []:
            out += _cluster_lines(child, indent + 6)
    for children in launched.values():          # a parent record the audit did not read (--since)
        for child in children:
            out += _cluster_lines(child, indent + 4)
    return out


def cluster_text(found) -> str:
    if not found:
        return "no action matches\n"
    return "\n".join("\n".join(_cluster_lines(e, 0)) + "\n" for e in found)
