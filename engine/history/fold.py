"""The fold: the journal's records folded back into what the engine believed.

    views = fold(journal.scan(svc="web1"))              # {svc: ServiceView}, pure
    render(views["web1"].document())                    # the `print status` tree as it stood then

engine/history/views.py starts it from a snapshot (replay_service); observations.py writes the
status records it reads.

`fold` is a pure function of the records: no clock, no file, no callback, so the same journal always
gives the same answer. It accepts decoded records (dicts, as `Journal.read` returns them) or stored
row tuples (as `Journal.scan`/`raw` return them); with tuples it decodes a payload only where the
fold reads it (config, action and status records), never for commands and transitions, which are
most of a journal.

What a ServiceView holds, per service:
- the env file in force (`config`/`env` records: text, digest, path),
- the state of every machine (service '' and each rid), from the transitions; each transition is
  checked against the machine table (`machines.defs.dest_of`): one that does not follow the table is
  reported in `anomalies` and NOT applied; one whose source is not the state the fold holds (a gap)
  is reported and applied (the engine acted on that belief),
- the last observed status of every resource: the engine journals the evaluated status document
  (`observation`/`status`, rid '') whenever it differs from the last one journaled,
- the frozen flag (`config`/`freeze`|`thaw`), the open action (a `begin` without its `end`) and the
  last action that ended.
"""

from datetime import datetime, timezone

import msgpack

from core.digest import sha256  # not hashlib: OpenSSL's import (~3 ms) outweighs the hashing
from machines.defs import INDEX, MACHINES

_unpack = msgpack.unpackb

# Row tuple positions (journal.chain.COLUMNS).
SEQ, TS, HLC, NODE, SVC, RID, KIND, MACHINE, EVENT, SRC, DST, ACTION_ID, PAYLOAD, DURABLE, HASH = range(15)

# A status record's resource metadata, in this order (the static part of a document entry).
META_KEYS = ("type", "label", "monitor", "disable", "optional", "encap", "tags")

MAX_ANOMALIES = 200     # per service: enough to diagnose, bounded so a snapshot stays small


def _payload(value):
    if isinstance(value, dict):
        return value
    return _unpack(value, raw=False, strict_map_key=False) if value else {}


def _as_tuple(rec):
    """A decoded record dict -> the row tuple shape (payload left decoded)."""
    return (rec.get("seq", 0), rec.get("ts", 0), rec.get("hlc", 0), rec.get("node", ""), rec.get("svc", ""),
            rec.get("rid", ""), rec.get("kind", ""), rec.get("machine", ""), rec.get("event", ""),
            rec.get("src", ""), rec.get("dst", ""), rec.get("action_id", ""), rec.get("payload") or {},
            rec.get("durable", True), rec.get("hash", ""))


def iso(ts_ns):
    """A record's ts as the document's `updated` format (UTC, microseconds)."""
    return datetime.fromtimestamp(ts_ns / 1e9, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def meta_hash(meta):
    """A short digest of a status record's metadata: the record repeats it only when it changes."""
    return sha256(msgpack.packb(meta, use_bin_type=True)).hexdigest()[:16]


class ServiceView:
    """One service as the journal tells it, up to `seq`. Plain data: `state()` / `from_state()`
    (de)serialize it for snapshots."""

    FIELDS = ("svc", "node", "seq", "ts", "records", "env", "states", "kinds", "status", "meta", "mh",
              "overall", "avail", "status_seq", "status_ts", "updated", "frozen", "open", "last_action",
              "anomalies")

    def __init__(self, svc):
        self.svc = svc
        self.node = ""
        self.seq = 0                 # the last record folded
        self.ts = 0
        self.records = 0             # how many records of this service were folded
        self.env = None              # {"text", "digest", "path", "seq"}
        self.states = {}             # rid -> machine state ('' = the service machine)
        self.kinds = {}              # rid -> machine kind
        self.status = {}             # rid -> [status, log lines], from the last status record
        self.meta = {}               # rid -> [type, label, monitor, disable, optional, encap, tags], config order
        self.mh = ""
        self.overall = None
        self.avail = None
        self.status_seq = 0
        self.status_ts = 0
        self.updated = ""
        self.frozen = False
        self.open = None             # the action begun and not ended: {action_id, seq, ts, payload}
        self.last_action = None      # the last action ended: {action_id, action, outcome, seq}
        self.anomalies = []          # [seq, rid, message]
        self.warnings = []           # not folded state: what replay_service noticed (bad snapshot...)

    # --- (de)serialization ------------------------------------------------------------------------
    def state(self) -> dict:
        return {f: getattr(self, f) for f in self.FIELDS}

    @classmethod
    def from_state(cls, data):
        view = cls(data["svc"])
        for f in cls.FIELDS:
            if f in data:
                setattr(view, f, data[f])
        return view

    def __eq__(self, other):
        return isinstance(other, ServiceView) and self.state() == other.state()

    def __repr__(self):
        return f"<ServiceView {self.svc} seq={self.seq} states={self.states}>"

    # --- queries ------------------------------------------------------------------------------------
    def machine_state(self, rid, kind=None):
        """The state the fold holds for rid, else the initial state of its kind."""
        from machines.defs import machine_def

        if rid in self.states:
            return self.states[rid]
        kind = kind or self.kinds.get(rid) or self.kind_of_rid(rid)
        return machine_def(kind).initial if kind else None

    def kind_of_rid(self, rid):
        """A rid's machine kind: from its transitions, else from the type its status records gave."""
        if rid == "":
            return "service"
        if rid in self.kinds:
            return self.kinds[rid]
        meta = self.meta.get(rid)
        if meta:
            from domain.families import MACHINE_KINDS
            from domain.status import family

            return MACHINE_KINDS.get(family(meta[0], rid))
        return None

    def document(self) -> dict:
        """The status document (engine.probe's shape): the last observed status of each resource,
        its machine state now, the frozen flag. `domain.render.render` draws it like `print status`."""
        from domain import status as st

        rows = []
        rids = list(self.meta) or [r for r in self.states if r]
        for rid in rids:
            meta = self.meta.get(rid)
            if meta is None:      # no status record yet: what the transitions tell (the type from the kind)
                kind = self.kinds.get(rid, "resource")
                fam = kind if kind in ("container", "hb") else st.family(None, rid)
                meta = [fam if fam in st.GROUPS else "app", rid, False, False, False, False, []]
            value, log = self.status.get(rid) or ("undef", ["no status observed yet"])
            rows.append({"rid": rid, "type": meta[0], "status": value, "label": meta[1], "log": list(log),
                         "monitor": meta[2], "disable": meta[3], "optional": meta[4], "encap": meta[5],
                         "tags": list(meta[6]), "state": self.machine_state(rid) or ""})
        return st.aggregate(rows, None, svcname=self.svc, nodename=self.node, frozen=self.frozen,
                            updated=self.updated or (iso(self.ts) if self.ts else ""))

    def machines(self) -> dict:
        """rid -> state for every machine this service has (the service's own under '')."""
        out = {"": self.machine_state("")}
        for rid in list(self.meta) + [r for r in self.states if r and r not in self.meta]:
            out[rid] = self.machine_state(rid)
        return out


# --- the fold --------------------------------------------------------------------------------------

def _transition(view, row, MACHINES=MACHINES, INDEX=INDEX):
    rid, kind, trigger, src, dst, seq = row[RID], row[MACHINE], row[EVENT], row[SRC], row[DST], row[SEQ]
    if kind not in MACHINES:
        _anomaly(view, seq, rid, f"unknown machine kind {kind!r} ({trigger} {src} -> {dst}): not applied")
        return
    if INDEX[kind].get(trigger, {}).get(src) != dst:        # machines.defs.dest_of, inlined (hot path)
        _anomaly(view, seq, rid, f"{kind} {trigger} {src} -> {dst} does not follow the machine table: not applied")
        return
    if view.kinds.get(rid, kind) != kind:
        view.states.pop(rid, None)        # the rid now names another kind of resource (config change)
    current = view.states.get(rid)
    if current is None:
        current = MACHINES[kind].initial
    if current != src:
        _anomaly(view, seq, rid, f"{trigger} from {src} but the journal left it {current} (gap): applied")
    view.states[rid] = dst
    view.kinds[rid] = kind


def _anomaly(view, seq, rid, message):
    if len(view.anomalies) < MAX_ANOMALIES:
        view.anomalies.append([seq, rid, message])


def _status_record(view, row):
    p = _payload(row[PAYLOAD])
    if "meta" in p:
        view.meta = p["meta"]
        view.mh = p.get("mh", "")
    view.status = p.get("resources") or {}
    view.overall, view.avail = p.get("overall"), p.get("avail")
    view.status_seq, view.status_ts = row[SEQ], row[TS]
    view.updated = p.get("updated") or iso(row[TS])


def _action(view, row):
    event = row[EVENT]
    if event == "begin":
        p = _payload(row[PAYLOAD])
        view.open = {"action_id": row[ACTION_ID], "seq": row[SEQ], "ts": row[TS], "payload": p}
    elif event == "end":
        p = _payload(row[PAYLOAD])
        if view.open and view.open["action_id"] == row[ACTION_ID]:
            view.open = None
        view.last_action = {"action_id": row[ACTION_ID], "action": p.get("action"), "outcome": p.get("outcome"),
                            "seq": row[SEQ]}


def _config(view, row):
    event = row[EVENT]
    if event == "env":
        p = _payload(row[PAYLOAD])
        view.env = {"text": p.get("text"), "digest": p.get("digest"), "path": p.get("path"), "seq": row[SEQ]}
    elif event == "freeze":
        view.frozen = True
    elif event == "thaw":
        view.frozen = False


def apply(view, row):
    """Fold one row tuple (payload bytes or already decoded) into view."""
    kind = row[KIND]
    if kind == "transition":
        _transition(view, row)
    elif kind == "observation":
        if row[EVENT] == "status" and row[RID] == "":
            _status_record(view, row)
    elif kind == "action":
        _action(view, row)
    elif kind == "config":
        _config(view, row)
    view.seq, view.ts = row[SEQ], row[TS]
    view.records += 1
    if row[NODE]:
        view.node = row[NODE]


def fold(records, svc=None, views=None) -> dict:
    """records (dicts or row tuples, seq order) -> {svc: ServiceView}. Only `svc` when given.
    `views`: views to continue from (e.g. a snapshot's), updated in place. Pure."""
    views = {} if views is None else views
    for rec in records:
        row = _as_tuple(rec) if isinstance(rec, dict) else rec
        name = row[SVC]
        if not name or (svc is not None and name != svc):
            continue
        view = views.get(name)
        if view is None:
            view = views[name] = ServiceView(name)
        apply(view, row)
    return views
