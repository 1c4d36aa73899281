"""`osvc-engine journal report -s SVC [--action ID] -o FILE.html`: one action as one self-contained page.

The page needs nothing but itself (inline CSS and SVG, no script, no link, no font, no image): it can be
mailed, attached to a ticket, opened on a laptop without network. It shows

- the summary the audit prints (who, where, when, argv, outcome, rollback, recovery),
- a timeline picture: one lane per machine (the service first, then the resources in the order they
  moved), one bar per phase whose width is proportional to its duration, commands as thin bars under
  the phases, failed phases and failed commands marked with a red cross, a time axis in ms or s,
- the commands table (rc, duration, output tails), the journal lines of the action,
- the status tree before and after the action, drawn by domain.render like `print status`.

The entries come from postmortem.audit, so the page and the audit never disagree.
"""

import html
import math

from core.errors import NotFound, UsageError
from postmortem import audit
from journal import lines as fmt

# Picture geometry (px).
WIDTH = 1000
LABEL = 150           # the lane names column
RIGHT = 20
LANE = 30             # lane height
BAR = 16              # phase bar height, from the lane's top + 4
AXIS = 28             # the time axis band at the bottom

# Transient state -> bar colour: what the machine was doing, at a glance. The states of a start are
# blue and those of a stop orange (machines.defs: each machine's starting and stopping states), the
# later phases of one action in lighter shades, the last shade repeated; the other transient states
# have their own colour.
SHADES = {"start": ("#4c8bd6", "#6aa5e8", "#8ab8ee", "#a9cbf3"), "stop": ("#e09a3e", "#edb56b", "#c9541c")}
OTHER_COLORS = {"rolling-back": "#8e63c7", "migrating": "#3aa39a", "switching": "#3aa39a"}
DEFAULT_COLOR = "#9aa4ae"


def _colors():
    from machines.defs import MACHINES

    colors = {}
    for mdef in MACHINES.values():
        for direction, states in (("start", mdef.starting), ("stop", mdef.stopping)):
            shades = SHADES[direction]
            for i, state in enumerate(states):
                colors.setdefault(state, shades[min(i, len(shades) - 1)])
    return {**colors, **OTHER_COLORS}


COLORS = _colors()
FAIL = "#d62728"
CMD_OK = "#37474f"
CMD_TOLERATED = "#b08d2a"    # a non-zero rc the driver tolerated (audit.tolerated_rc): not a failure

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2329; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.outcome-ok { color: #2e7d32; } .outcome-failed, .outcome-refused, .outcome-interrupted { color: #d62728; }
table.summary td { padding: 1px 12px 1px 0; vertical-align: top; } table.summary td:first-child { color: #5f6b76; }
table.commands { border-collapse: collapse; } table.commands th, table.commands td {
  border-bottom: 1px solid #e3e7ea; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
tr.failed td { color: #d62728; } tr.tolerated td.rc { color: #8a6d1f; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font: 12px/1.35 ui-monospace, monospace; } pre { background: #f6f8fa; padding: 10px; overflow-x: auto; }
.trees { display: flex; gap: 24px; flex-wrap: wrap; } .trees > div { flex: 1 1 420px; }
svg text { font: 11px system-ui, sans-serif; } svg .lane-name { font-weight: 600; }
.legend span { display: inline-block; margin-right: 14px; } .legend i { display: inline-block; width: 12px;
  height: 12px; margin-right: 4px; vertical-align: -2px; }
"""


def _e(value):
    return html.escape(str(value), quote=True)


# -- choosing the action -------------------------------------------------------------------------
def select(journal, svc, action_id=None):
    """The audit entry to draw: the given action (an id or a prefix of one), else the latest action of
    the service that ran (a refusal only when nothing ever ran)."""
    found = audit.entries(journal, svc=svc)
    if action_id:
        match = [e for e in found if e.action_id.startswith(action_id)]
        if not match:
            raise NotFound(f"no action {action_id!r} of service {svc} in the journal: "
                           f"list them with `osvc-engine journal audit -s {svc}`")
        if len({e.action_id for e in match}) > 1:
            raise UsageError(f"action id {action_id!r} matches {len(match)} actions of {svc}: give more characters")
        return match[0]
    if not found:
        raise NotFound(f"no action of service {svc} in the journal (nothing ran on it on this node, "
                       f"or the name is wrong)")
    ran = [e for e in found if e.begin]
    return (ran or found)[-1]


# -- the status before and after -------------------------------------------------------------------
def statuses(journal, entry):
    """(before, after, source): the status documents around the action, and where they come from.

    The replay fold gives the status at any seq; without it (an older engine), the status observations
    the engine journals at the end of each action are used as they are."""
    first = entry.records[0]["seq"]
    last = entry.records[-1]["seq"]
    after_seq = _status_seq_after(journal, entry, last) or last
    try:
        from engine.history.views import replay_service
    except ImportError:
        replay_service = None
    if replay_service is not None:
        def at(seq):
            try:
                return replay_service(journal, entry.svc, seq=seq).document()
            except ImportError:        # a replay without its snapshots module: the full fold
                return replay_service(journal, entry.svc, seq=seq, snapshots=False).document()
        before = at(first - 1) if first > 1 else None
        return _doc(before), _doc(at(after_seq)), "replay of the journal (engine.history.fold)"
    obs = [r for r in journal.read(svc=entry.svc, kind="observation", seq_max=after_seq)
           if not r["rid"] and r["event"] == "status"]
    before = next((r for r in reversed(obs) if r["seq"] < first), None)
    after = next((r for r in reversed(obs) if r["seq"] > first), None)
    return (_observed(before, entry.svc), _observed(after, entry.svc),
            "the status observations journaled at the end of each action")


def _status_seq_after(journal, entry, last):
    """The status observation the engine journals right after the action's end, when there is one."""
    for rec in journal.read(svc=entry.svc, kind="observation", seq_min=last + 1):
        if not rec["rid"] and rec["event"] == "status":
            return rec["seq"] if rec["action_id"] in ("", entry.action_id) else None
        break
    return None


def _doc(doc):
    """A status document domain.render can draw, or None."""
    return doc if isinstance(doc, dict) and "resources" in doc else None


def _observed(rec, svc):
    """A status observation's compact payload (engine.history.fold.status_payload) as a drawable document:
    per rid [status, log lines], the metadata under `meta` when that record carries it."""
    if rec is None:
        return None
    p = rec["payload"]
    meta = p.get("meta") or {}
    resources = {}
    for rid, value in (p.get("resources") or {}).items():
        status, log = (value + [[]])[:2] if isinstance(value, list) else (value, [])
        m = meta.get(rid) or [None, "", False, False, False, False, []]
        resources[rid] = {"type": m[0], "status": status, "log": log, "label": m[1], "monitor": m[2],
                          "disable": m[3], "optional": m[4], "encap": m[5], "tags": m[6]}
    return {"svcname": svc, "resources": resources, "overall": p.get("overall") or "n/a",
            "avail": p.get("avail") or "n/a"}


def _tree(doc):
    from domain.render import render

    if doc is None:
        return "<p>no status journaled</p>"
    try:
        return f"<pre class=\"tree\">{_e(render(doc))}</pre>"
    except Exception as exc:       # an old or partial document: say so, draw the rest of the page
        return f"<p>status document not drawable: {_e(exc)}</p>"


# -- the picture ---------------------------------------------------------------------------------------
def _step(total):
    """A tick interval giving 4 to 10 ticks: 1, 2 or 5 times a power of ten (seconds)."""
    raw = max(total, 1e-6) / 8
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if raw <= m * mag * (1 + 1e-9))


def _lanes(entry):
    """rids in lane order: the service first, then each resource as it first moved."""
    rids = [""]
    for rec in entry.records:
        if rec["kind"] in ("transition", "command") and rec["rid"] not in rids:
            rids.append(rec["rid"])
    return rids


def timeline_svg(entry):
    t0 = entry.t0
    phases, commands = entry.phases, entry.commands
    span = max([entry.t1] + [p.t1 for p in phases] + [c.ts for c in commands]) - t0
    total = max(span / 1e9, 1e-3)
    plot = WIDTH - LABEL - RIGHT
    scale = plot / total                     # px per second: every width below is duration * scale
    lanes = _lanes(entry)
    height = len(lanes) * LANE + AXIS
    x_of = lambda ts: LABEL + (ts - t0) / 1e9 * scale
    out = [f'<svg class="timeline" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
           f'role="img" data-scale="{scale:.6f}" data-total="{total:.6f}">',
           f'<title>{_e(entry.svc)} {_e(entry.action)}: one lane per resource, one bar per phase</title>']
    step = _step(total)
    k = 0
    while k * step <= total + 1e-9:
        x = LABEL + k * step * scale
        out.append(f'<line class="tick" x1="{x:.2f}" y1="0" x2="{x:.2f}" y2="{height - AXIS + 4}" '
                   f'stroke="#e3e7ea"/>')
        out.append(f'<text class="tick-label" x="{x:.2f}" y="{height - AXIS + 18}" text-anchor="middle" '
                   f'fill="#5f6b76">{"0" if k == 0 else "+" + fmt.duration(k * step)}</text>')
        k += 1
    for i, rid in enumerate(lanes):
        y = i * LANE
        name = rid or entry.svc
        out.append(f'<g class="lane" data-rid="{_e(rid)}">')
        if i % 2:
            out.append(f'<rect class="lane-bg" x="0" y="{y}" width="{WIDTH}" height="{LANE}" fill="#f7f9fa"/>')
        out.append(f'<text class="lane-name" x="8" y="{y + 19}">{_e(name)}</text>')
        for p in (p for p in phases if p.rid == rid):
            x, w = x_of(p.t0), p.duration * scale
            color = COLORS.get(p.state, DEFAULT_COLOR)
            cls = "phase failed" if p.failed else "phase"
            tip = f"{name} {p.state} {fmt.duration(p.duration)}"
            if p.finished:
                tip += f" -> {p.dst} ({p.event})"
            else:
                tip += " (never left)"
            if p.reason:
                tip += f": {p.reason}"
            out.append(f'<rect class="{cls}" data-rid="{_e(rid)}" data-state="{_e(p.state)}" '
                       f'data-duration="{p.duration:.9g}" x="{x:.2f}" y="{y + 4}" width="{w:.4f}" '
                       f'height="{BAR}" fill="{color}" stroke="{FAIL if p.failed else color}" '
                       f'stroke-width="{2 if p.failed else 0.5}"><title>{_e(tip)}</title></rect>')
            label = f"{p.state} {fmt.duration(p.duration)}"
            if w > 7 * len(label):
                out.append(f'<text x="{x + 4:.2f}" y="{y + 16}" fill="#fff">{_e(label)}</text>')
            if p.failed:
                out.append(_cross(x + w, y + 4 + BAR / 2, tip))
        for c in (c for c in commands if c.rid == rid):
            x, w = x_of(c.t0), c.duration * scale
            tip = f"$ {audit._argv(c.argv)}  rc={c.rc}{' (tolerated)' if c.tolerated else ''} {fmt.duration(c.duration)}"
            cls = " failed" if c.failed else " tolerated" if c.tolerated else ""
            fill = FAIL if c.failed else CMD_TOLERATED if c.tolerated else CMD_OK
            out.append(f'<rect class="cmd{cls}" data-rid="{_e(rid)}" '
                       f'data-duration="{c.duration:.9g}" x="{x:.2f}" y="{y + 4 + BAR + 2}" width="{w:.4f}" '
                       f'height="4" fill="{fill}"><title>{_e(tip)}</title></rect>')
            if c.failed:
                out.append(_cross(x + w, y + 4 + BAR + 4, tip))
        for r in (r for r in entry.recoveries if r["rid"] == rid):
            x = x_of(r["ts"])
            tip = f"{name} recovered: {r['src'] or '-'} -> {r['dst']} ({r['event']})"
            out.append(f'<path class="recovery" d="M{x:.2f} {y + 4} l5 8 l-5 8 l-5 -8 z" fill="#3aa39a">'
                       f'<title>{_e(tip)}</title></path>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _cross(x, y, tip):
    """The failure mark: a red cross centred on (x, y)."""
    return (f'<g class="fail-mark"><title>{_e(tip)}</title><circle cx="{x:.2f}" cy="{y:.2f}" r="7" fill="#fff" '
            f'stroke="{FAIL}" stroke-width="1.5"/><path d="M{x - 3.5:.2f} {y - 3.5:.2f} l7 7 m0 -7 l-7 7" '
            f'stroke="{FAIL}" stroke-width="2"/></g>')


def _legend(entry):
    states = list(dict.fromkeys(p.state for p in entry.phases))
    items = [f'<span><i style="background:{COLORS.get(s, DEFAULT_COLOR)}"></i>{_e(s)}</span>' for s in states]
    items.append(f'<span><i style="background:{CMD_OK};height:4px;vertical-align:2px"></i>command</span>')
    if any(c.tolerated for c in entry.commands):
        items.append(f'<span><i style="background:{CMD_TOLERATED};height:4px;vertical-align:2px"></i>'
                     f'command rc tolerated by its driver</span>')
    items.append(f'<span><i style="border:2px solid {FAIL};border-radius:7px;width:9px;height:9px"></i>failed</span>')
    return f'<p class="legend">{"".join(items)}</p>'


# -- the page --------------------------------------------------------------------------------------------
def _summary(entry):
    rows = [("outcome", entry.outcome), ("duration", fmt.duration(entry.duration))]
    rows += audit.summary_rows(entry)
    rows.append(("action id", entry.action_id))
    body = "".join(f'<tr class="{_e(k.replace(" ", "-"))}"><td>{_e(k)}</td><td>{_e(v)}</td></tr>' for k, v in rows)
    return f'<table class="summary">{body}</table>'


def _commands(entry):
    if not entry.commands:
        return "<p>no command ran</p>"
    head = ("<tr><th>resource</th><th>at</th><th>duration</th><th>rc</th><th>command</th>"
            "<th>output</th></tr>")
    rows = []
    for c in entry.commands:
        out = "\n".join(t.rstrip("\n") for t in (c.out_tail, c.err_tail) if t)
        rc = f"{c.rc} (timeout)" if c.timed_out else f"{c.rc} (tolerated)" if c.tolerated else c.rc
        cells = (c.rid or entry.svc, "+" + fmt.duration((c.t0 - entry.t0) / 1e9), fmt.duration(c.duration), rc)
        cls = " failed" if c.failed else " tolerated" if c.tolerated else ""
        rows.append(f'<tr class="command{cls}" data-rid="{_e(c.rid)}">'
                    f'<td>{_e(cells[0])}</td>' + "".join(f'<td class="num">{_e(v)}</td>' for v in cells[1:-1]) +
                    f'<td class="num rc">{_e(cells[-1])}</td>' +
                    f'<td><code>{_e(audit._argv(c.argv))}</code></td>'
                    f'<td>{f"<pre>{_e(out)}</pre>" if out else ""}</td></tr>')
    return f'<table class="commands">{head}{"".join(rows)}</table>'


def page(entry, before=None, after=None, source=""):
    title = f"{entry.svc} {entry.action} [act:{entry.action_id[:fmt.ACTION_ID_SHOWN]}]"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}: {_e(entry.outcome)}</title>", f"<style>{CSS}</style></head><body>",
        f'<h1>{_e(entry.svc)} {_e(entry.action)}: <span class="outcome-{_e(entry.outcome)}">'
        f'{_e(entry.outcome)}</span></h1>',
        _summary(entry),
        "<h2>Timeline</h2>", _legend(entry), timeline_svg(entry),
        "<h2>Commands</h2>", _commands(entry),
        '<h2>Status before and after</h2><div class="trees">',
        f'<div class="before"><h3>before</h3>{_tree(before)}</div>',
        f'<div class="after"><h3>after</h3>{_tree(after)}</div></div>',
        f'<p class="source">status from {_e(source)}</p>' if source else "",
        "<h2>Journal</h2>", f'<pre class="journal">{_e(chr(10).join(entry.timeline()))}</pre>',
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _save(path, text):
    """The page, written atomically (core.files.write_atomic); a folder that refuses it is the user's to fix."""
    from core.files import write_atomic

    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def write(journal, svc, path, action_id=None):
    """Write the page of the action to `path` (atomically). Returns (path, entry)."""
    entry = select(journal, svc, action_id)
    before, after, source = statuses(journal, entry)
    text = page(entry, before, after, source)
    _save(path, text)
    return path, entry


# -- the cluster's page (journal report --cluster) ---------------------------------------------------------
def cluster_entry(entry):
    """One Entry drawing a cluster action (audit.ClusterEntry): the root part's records, and those of the
    parts it launched with their rids named `node:rid` (`node:svc` for their service machine), so each
    remote machine is a lane of its own; the remote parts' own begin, launch and end records are left to
    the journal lines (they would be taken for the action's)."""
    root = entry.root
    records = list(root.records)
    for part in list(entry.parts())[1:]:
        for rec in part.records:
            if rec["kind"] != "action":
                records.append({**rec, "rid": f"{part.node}:{rec['rid'] or part.svc}"})
    records.sort(key=lambda r: (r["hlc"], r["node"], r["seq"]))
    return audit.Entry(root.svc, root.action_id, records)


def write_cluster(source, svc, path, action_id=None):
    """The page of a cluster action (postmortem.cluster.Sources): the nested parts drawn as lanes
    `node:rid`; the status before and after is the one of the node that began it. Returns (path, entry)."""
    found = audit.cluster_entries(source, svc=svc)
    if action_id:
        found = [e for e in found if e.action_id.startswith(action_id)]
        if len({e.action_id for e in found}) > 1:
            raise UsageError(f"action id {action_id!r} matches {len(found)} actions of {svc}: give more characters")
    if not found:
        what = f"action {action_id!r}" if action_id else "action"
        raise NotFound(f"no {what} of service {svc} in this node's journal or its mirrors: "
                       f"list them with `osvc-engine journal audit --cluster -s {svc}`")
    chosen = ([e for e in found if e.begin] or found)[-1]
    home = next((j for j in source.journals if (j.raw(limit=1) or [[None] * 4])[0][3] == chosen.root.node),
                source.journals[0])
    before, after, where = statuses(home, chosen.root)
    entry = cluster_entry(chosen)
    text = page(entry, before, after, f"{where}, on node {chosen.root.node}")
    _save(path, text)
    return path, entry
