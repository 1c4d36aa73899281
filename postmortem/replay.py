"""`osvc-engine journal replay` and `journal snapshot`: parsing and output (engine/history/fold.py folds)."""

import argparse
import json
import sys

REPLAY_EXAMPLES = """examples:
  osvc-engine journal replay -s web1               the status tree from the journal alone (= print status)
  osvc-engine journal replay -s web1 --at '2024-05-01 10:54'   as it stood then
  osvc-engine journal replay -s web1 --seq 1234 --format json  the document, for print status --from
  osvc-engine journal replay -s web1 -v            the tree, then the machines, env digest, open action
  osvc-engine journal replay -s web1 --env         the env file in force at that point
  osvc-engine journal replay --check               every service's machines against var/<svc>/states.json"""

SNAPSHOT_EXAMPLES = """examples:
  osvc-engine journal snapshot                 rebuild every service's snapshots (every 100 of its records)
  osvc-engine journal snapshot --every 500
  osvc-engine journal snapshot --drop          remove them all (replay folds from the start)"""


def add_parsers(sub):
    fmt = argparse.RawDescriptionHelpFormatter
    text = "the status tree of a service from the journal, now or at a past point; --check compares with the engine"
    r = sub.add_parser("replay", help=text, description=text, epilog=REPLAY_EXAMPLES, formatter_class=fmt)
    r.add_argument("-s", "--service", dest="svc", metavar="SVC", help="the service (required unless --check)")
    when = r.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="TIME", help="as it stood at TIME: ISO, epoch seconds, or an age (10m, 2h)")
    when.add_argument("--seq", type=int, metavar="N", help="as it stood once record N was written")
    r.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: the print status tree; json: the status document")
    r.add_argument("--env", action="store_true", help="print the env file in force at that point instead")
    r.add_argument("-v", "--verbose", action="store_true",
                   help="text: after the tree, the seq, env digest, machine states, open action, anomalies")
    r.add_argument("--no-snapshots", dest="snapshots", action="store_false",
                   help="fold from the first record (ignore the snapshots)")
    r.add_argument("--check", action="store_true",
                   help="replay every service from the whole journal and compare every machine with the "
                        "live states (var/<svc>/states.json); exit 1 on any divergence")
    text = "rebuild (or --drop) the replay snapshots stored in journal.db"
    s = sub.add_parser("snapshot", help=text, description=text, epilog=SNAPSHOT_EXAMPLES, formatter_class=fmt)
    s.add_argument("--every", type=int, metavar="N", help="a snapshot every N records of a service "
                   "(default: node.conf [journal] snapshot_interval, 100)")
    s.add_argument("--drop", action="store_true", help="only remove the snapshots")


def _node():
    from core.node import Node

    return Node.from_env()


def _journal(node, readonly=True):
    """The node's journal, read-only unless the command writes (snapshot)."""
    from journal.store import Journal

    return Journal(node.journal_path, create=False, readonly=readonly)


def verbose_text(view) -> str:
    lines = [f"# replayed {view.records} records up to seq {view.seq}"
             + (f" (last status record seq {view.status_seq})" if view.status_seq else "")]
    if view.env:
        lines.append(f"# env {view.env.get('path')} digest {str(view.env.get('digest'))[:16]} (seq {view.env['seq']})")
    for rid, state in view.machines().items():
        lines.append(f"# machine {rid or 'service':<16} {state}")
    if view.open:
        p = view.open["payload"]
        lines.append(f"# open action {p.get('action')} [act:{view.open['action_id'][:8]}] begun at seq "
                     f"{view.open['seq']} by pid {p.get('pid')}")
    elif view.last_action:
        la = view.last_action
        lines.append(f"# last action {la['action']} [act:{la['action_id'][:8]}] {la['outcome']} (seq {la['seq']})")
    for seq, rid, msg in view.anomalies:
        lines.append(f"# anomaly seq {seq} {rid or 'service'}: {msg}")
    return "\n".join(lines) + "\n"


def cmd_replay(opts):
    from core.errors import NotFound, UsageError
    from domain.render import render
    from engine.history.views import replay_service

    if opts.check:
        return cmd_check(opts)
    if not opts.svc:
        raise UsageError("journal replay: name the service with -s SVC (or use --check for every service)")
    node = _node()
    with _journal(node) as j:
        view = replay_service(j, opts.svc, at=opts.at, seq=opts.seq, snapshots=opts.snapshots)
    for w in view.warnings:
        print(f"osvc-engine: warning: {w}", file=sys.stderr)
    if view.records == 0:
        when = f" at or before {opts.at}" if opts.at else f" at or before seq {opts.seq}" if opts.seq is not None else ""
        raise NotFound(f"no journal record of service '{opts.svc}'{when} "
                       f"(see `osvc-engine journal stats` for what the journal holds)")
    if opts.env:
        if not view.env:
            raise NotFound(f"service '{opts.svc}': no env file journaled at that point")
        sys.stdout.write(view.env["text"] or "")
        return 0
    doc = view.document()
    if opts.format == "json":
        print(json.dumps(doc, indent=2))
        return 0
    sys.stdout.write(render(doc))
    if opts.verbose:
        sys.stdout.write("\n" + verbose_text(view))
    return 0


def divergences(node, journal):
    """[(svc, message)]: every machine the whole journal folds to, against var/<svc>/states.json,
    plus the fold's anomalies and actions left open by a dead process."""
    from engine.states import is_frozen, load_states
    from engine.recovery import process_gone
    from core.node import is_service_name
    from engine.history.fold import fold

    views = fold(journal.scan())
    names = set(views)
    if node.var.is_dir():
        names |= {p.parent.name for p in node.var.glob("*/states.json")}
    out = []
    for svc in sorted(names):
        if not is_service_name(svc):     # a name from an old journal that today's rule refuses
            out.append((svc, "not a valid service name: its etc/ and var/ files are not compared"))
            continue
        view = views.get(svc)
        live = load_states(node, svc)
        if view is None:
            out.append((svc, "var/{}/states.json exists but the journal has no record of the service".format(svc)))
            continue
        if view.open and process_gone(view.open["payload"], view.open["ts"]) is None:
            continue                  # an action runs now: states.json is written at its end
        if view.open:
            out.append((svc, f"action {view.open['payload'].get('action')} [act:{view.open['action_id'][:8]}] "
                             f"was interrupted and not recovered: run `osvc-engine -s {svc} recover`"))
        for seq, rid, msg in view.anomalies:
            out.append((svc, f"seq {seq} {rid or 'service'}: {msg}"))
        if not live and view.states:
            out.append((svc, f"var/{svc}/states.json is missing or empty; the journal holds "
                             f"{len(view.states)} machine state(s)"))
        for rid in sorted(live):      # what the engine believes; rids the config dropped are history
            replayed = view.machine_state(rid)
            if live[rid] != replayed:
                out.append((svc, f"{rid or 'service'}: the journal says {replayed}, states.json says {live[rid]}"))
        if node.env_file(svc).exists() and view.frozen != is_frozen(node, svc):
            out.append((svc, f"frozen: the journal says {view.frozen}, the flag file says {is_frozen(node, svc)}"))
    return out, len(names)


def cmd_check(opts):
    node = _node()
    with _journal(node) as j:
        found, count = divergences(node, j)
    for svc, msg in found:
        print(f"{svc}: {msg}")
    if found:
        print(f"replay check: {len(found)} divergence(s) in {len({s for s, _ in found})} of {count} service(s)",
              file=sys.stderr)
        return 1
    print(f"replay check: {count} service(s), every machine matches the journal")
    return 0


def cmd_snapshot(opts):
    from engine.history import snapshots

    node = _node()
    every = opts.every or snapshots.interval(node)
    with _journal(node, readonly=False) as j:
        dropped = snapshots.drop(j)
        if opts.drop:
            print(f"dropped {dropped} snapshot(s)")
            return 0
        n = snapshots.build_all(j, every)
    print(f"dropped {dropped} snapshot(s), wrote {n} (every {every} records of a service)")
    return 0


COMMANDS = {"replay": cmd_replay, "snapshot": cmd_snapshot}
