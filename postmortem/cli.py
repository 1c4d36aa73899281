"""`osvc-engine journal tail|verify|export|pull|stats|audit|report|replay|snapshot|push`: argument parsing and dispatch only."""

import argparse
import json
import os
import sys

from core.errors import UsageError
from domain.actions import AUDIT_KINDS
from postmortem import replay as replay_cli

EXAMPLES = {
    "tail": """examples:
  osvc-engine journal tail -n 50 -s web1            the last 50 records of service web1
  osvc-engine journal tail -f --kind command        follow the commands as they run
  osvc-engine journal tail --since 2h --rid ip#1 -o json
  osvc-engine journal tail -f --show-cursor         on exit, print where to resume
  osvc-engine journal tail -f --cursor 'j=...;s=42;x=...'   resume after that record
  osvc-engine journal tail --cluster -f -s web1     this node and its peers, merged on (hlc, node, seq)""",
    "verify": """examples:
  osvc-engine journal verify         exit 0 when whole; else exit 6 naming the first bad seq
  osvc-engine journal verify --reanchor   accept the current head (after a known repair)
  osvc-engine journal verify --reindex    rebuild the service index from the records""",
    "export": """examples:
  osvc-engine journal export -o /tmp/journal.jsonl
  osvc-engine journal export --format msgpack -s web1 -o web1.msgpack
  osvc-engine journal export --raw --cursor 'j=...;s=42;x=...'   the rows as stored, after that one""",
    "pull": """examples:
  osvc-engine journal pull                 every peer of every service into var/mirrors/
  osvc-engine journal pull -s web1         the nodes and drpnodes of web1
  osvc-engine journal pull --node hv2      that node only (unreachable: exit 1)""",
    "stats": """examples:
  osvc-engine journal stats
  osvc-engine journal stats -o json""",
    "audit": """examples:
  osvc-engine journal audit -s web1                     every action on web1: who, when, phases, commands
  osvc-engine journal audit --kind rollback --since 1d  the failed starts of the last day, and what they undid
  osvc-engine journal audit -s web1 --format json
  osvc-engine journal audit --collector --node node2    every node's actions, from the collector
  osvc-engine journal audit --cluster --action 6ca92720   a switch, on both nodes, as one entry""",
    "push": """examples:
  osvc-engine journal push           ship the journal and the mirrors held here to the collector
                                     (etc/node.conf [collector] dsn; docs/collector.md)""",
    "report": """examples:
  osvc-engine journal report -s web1 -o /tmp/web1.html           the latest action of web1, as a page
  osvc-engine journal report -s web1 --action 6ca92720 -o a.html  that action (an id or its prefix)""",
}


def _filters(p):
    p.add_argument("-s", "--service", dest="svc", metavar="SVC", help="only this service")
    p.add_argument("--rid", help="only this resource id (e.g. ip#1)")
    p.add_argument("--node", help="only records of this node")
    p.add_argument("--kind", help="only this kind (transition, observation, action, command, config, ...)")
    p.add_argument("--action", dest="action_id", metavar="ID", help="only this action id")
    p.add_argument("--since", metavar="TIME", help="from this time: ISO, epoch seconds, or an age (10m, 2h, 1d)")


def _cluster(p):
    p.add_argument("--cluster", action="store_true",
                   help="this node's journal and its peers' mirrors, merged on (hlc, node, seq); pulls first")
    p.add_argument("--no-pull", action="store_true", help="--cluster: read the mirrors as they are")


def _count(text):
    if text == "all":
        return "all"
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"-n wants a number or 'all', not {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError("-n wants a number >= 0")
    return n


def build_parser():
    p = argparse.ArgumentParser(prog="osvc-engine journal",
                                description="Read and check the node's journal (var/journal.db).")
    sub = p.add_subparsers(dest="cmd", metavar="SUBCOMMAND")
    sub.required = True
    mk = lambda name, text: sub.add_parser(name, help=text, description=text, epilog=EXAMPLES[name],
                                           formatter_class=argparse.RawDescriptionHelpFormatter)
    t = mk("tail", "print the newest records, and follow new ones with -f")
    t.add_argument("-f", "--follow", action="store_true", help="keep printing records as they are committed")
    _filters(t)
    t.add_argument("--cursor", metavar="C", help="start after this record (a cursor from --show-cursor)")
    t.add_argument("--cursor-file", metavar="FILE",
                   help="start after the cursor saved in FILE (if it exists), and keep FILE updated")
    t.add_argument("--show-cursor", action="store_true",
                   help="text: print the cursor at the end; json: a 'cursor' key in each object")
    t.add_argument("-n", "--lines", type=_count, metavar="N",
                   help="the newest N matching records (default 10; all with --since/--cursor; 'all')")
    t.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format")
    _collector_flag(t)
    _cluster(t)
    v = mk("verify", "check the hash chain and the head anchor")
    v.add_argument("--reanchor", action="store_true",
                   help="after checking the chain, record its current head in the anchor")
    v.add_argument("--reindex", action="store_true",
                   help="rebuild the service index from the records, then verify")
    e = mk("export", "write every record as JSON lines or a msgpack stream")
    e.add_argument("--format", choices=("jsonl", "msgpack"), default="jsonl")
    e.add_argument("-o", "--output", metavar="FILE", help="write to FILE (mode 0600) instead of stdout")
    e.add_argument("--raw", action="store_true",
                   help="the rows as stored (payload bytes, hash), a msgpack stream a receiver can verify")
    e.add_argument("--cursor", metavar="C", help="--raw: the rows after this record")
    e.add_argument("-f", "--follow", action="store_true", help="--raw: keep sending rows as they are committed")
    _filters(e)
    pl = mk("pull", "copy the peers' new journal rows into verified mirrors (var/mirrors/)")
    pl.add_argument("--node", action="append", metavar="N", help="this peer (repeat for several)")
    pl.add_argument("-s", "--service", dest="svc", metavar="SVC", help="the nodes and drpnodes of this service")
    s = mk("stats", "records, size on disk, time span, counts per kind")
    s.add_argument("-o", "--output", choices=("text", "json"), default="text")
    a = mk("audit", "one entry per action: who, where, when, outcome, phases, commands, rollback")
    a.add_argument("-s", "--service", dest="svc", metavar="SVC", help="only this service")
    a.add_argument("--kind", choices=AUDIT_KINDS,
                   help="only the actions of this kind")
    a.add_argument("--since", metavar="TIME", help="actions begun from this time: ISO, epoch seconds, or an age")
    a.add_argument("--action", dest="action_id", metavar="ID", help="only this action id")
    a.add_argument("--format", choices=("text", "json"), default="text")
    a.add_argument("--node", help="only the actions run on this node")
    _collector_flag(a)
    _cluster(a)
    r = mk("report", "one self-contained HTML page of an action: timeline picture, commands, status")
    r.add_argument("-s", "--service", dest="svc", metavar="SVC", required=True, help="the service")
    r.add_argument("--action", dest="action_id", metavar="ID", help="this action (default: the latest)")
    r.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file to write")
    _collector_flag(r)
    _cluster(r)
    pu = mk("push", "ship the journal and the mirrors held here to the collector (PostgreSQL)")
    pu.add_argument("-o", "--output", choices=("text", "json"), default="text")
    replay_cli.add_parsers(sub)
    return p


def _collector_flag(p):
    p.add_argument("--collector", action="store_true",
                   help="every node's records from the collector ([collector] dsn), merged on (hlc, node, seq)")


# The collector (collector/cli.py) shares this layer and is independent of it: its functions are named,
# not imported, and loaded only when asked for (no collector configured: nothing of it, nor psycopg, loads).
def _collector(name):
    import importlib

    return getattr(importlib.import_module("collector.cli"), name)


def _has_collector():
    """Is a collector configured? (reads node.conf; imports nothing of the collector)"""
    from core.node import Node

    return bool((Node.from_env().setting("collector", "dsn") or "").strip())


def _open(readonly=True):
    """The node's journal; read-only (SQLite mode=ro, immutable in a folder this process cannot write)
    for every command that only reads it (docs/journal.md, "Reading a journal read-only")."""
    from core.node import Node
    from journal.store import Journal

    return Journal(Node.from_env().journal_path, create=False, readonly=readonly)


def _filter_values(opts):
    from journal.timespec import parse_time_ns

    return {"svc": opts.svc, "rid": opts.rid, "node": opts.node, "kind": opts.kind,
            "action_id": opts.action_id, "since_ns": parse_time_ns(opts.since) if opts.since else None}


def cmd_tail(opts):
    from journal import cursor as cursormod
    from journal.tail import tail

    if opts.follow:
        import signal

        # Ctrl-C (SIGINT) is how a follower ends. Python raises KeyboardInterrupt only if SIGINT was at its
        # default when the interpreter started: one inherited as ignored (a shell without job control
        # starts `cmd &` so, and everything under it inherits that) would leave `tail -f` running forever.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if opts.collector:
        return _collector("tail")(opts, _filter_values(opts))
    if opts.cluster:
        return _cluster_tail(opts)
    with _open() as j:
        start = opts.cursor
        if start is None and opts.cursor_file:
            start = cursormod.read_file(opts.cursor_file)     # never quotes the file in an error
        after = cursormod.resolve(j, start) if start is not None else 0   # --cursor '': an error
        last = opts.lines
        if last is None:
            last = None if (start or opts.since) else 10
        elif last == "all":
            last = None
        return tail(j, sys.stdout, _filter_values(opts), after=after, last=last, follow=opts.follow,
                    mode=opts.output, show_cursor=opts.show_cursor, cursor_file=opts.cursor_file)


def _cluster_tail(opts):
    """tail --cluster [-f]: this node and its mirrors merged (postmortem.cluster)."""
    from core.node import Node
    from journal import lines as fmt
    from postmortem import cluster

    if opts.cursor or opts.cursor_file or opts.show_cursor:
        raise UsageError("--cluster merges several journals, and a cursor names a place in one: use --since")
    node, svcs = Node.from_env(), [opts.svc] if opts.svc else None
    header = fmt.DateHeader()

    def emit(recs):
        lines = []
        for rec in recs:
            if opts.output == "json":
                lines.append(fmt.json_line(rec))
                continue
            day = header(rec)
            lines += [day] if day else []
            lines.append(fmt.line(rec))
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()

    last = opts.lines
    last = (None if opts.since else 10) if last is None else None if last == "all" else last
    filters = _filter_values(opts)
    if opts.follow:
        return cluster.follow(node, emit, svcs, filters, last=last)
    if not opts.no_pull:
        cluster.refresh(node, svcs)
    with cluster.Sources(node) as src:
        recs = list(src.merged(**{k: v for k, v in filters.items() if v is not None}))
    emit(recs if last is None else recs[-last:] if last else [])
    return 0


def _verify_mirrors(node):
    """Each mirror's chain, from its genesis: exit 6 (ChainBreak) naming the first bad seq."""
    from journal.mirror import Mirror, folder_of, listing

    folder = folder_of(node.journal_path)
    for name, uuid, path in listing(folder):
        with Mirror(folder, name, uuid, create=False) as m:
            records, last = m.verify()
        print(f"mirror {path}: node {name}, {records} records, chain intact (last seq {last})")


def cmd_pull(opts):
    from core.node import Node
    from engine.pull import cluster_peers, pull
    from postmortem.cluster import StderrLog

    node = Node.from_env()
    peers = cluster_peers(node, [opts.svc] if opts.svc else None, StderrLog(), names=opts.node)
    if not peers:
        print(f"no peer to pull: {'service ' + opts.svc if opts.svc else 'the services of this node'} name no "
              f"other node (nodes, drpnodes) and run no guest here", file=sys.stderr)
        return 0
    done = pull(node, peers, StderrLog(), strict=bool(opts.node))
    for p in done:
        print(f"node {p.node}: {p.added} new records (mirror of journal {p.journal or '-'} at seq {p.head}) "
              f"in {p.seconds:.2f}s")
    return 0


def cmd_verify(opts):
    from engine.history.snapshots import check_snapshots
    from journal import verify as v

    with _open(readonly=not opts.reindex) as j:
        if opts.reanchor:
            res = v.reanchor(j)
            print(f"journal {j.path}: chain intact up to seq {res.last_seq}; head anchor rewritten")
            return 0
        if opts.reindex:
            print(f"journal {j.path}: service index rebuilt ({j.reindex()} entries)")
        total = j.last_seq()
        progress = None
        if sys.stderr.isatty() and total > 200_000:
            def progress(seq):
                sys.stderr.write(f"\rverifying seq {seq}/{total} ({100 * seq // max(total, 1)}%)")
                sys.stderr.flush()
        try:
            res = v.verify(j, progress=progress, checks=(check_snapshots,))
        finally:
            if progress:
                sys.stderr.write("\r\033[K")
        for w in res.warnings:
            print(f"osvc-engine: warning: {w}", file=sys.stderr)
        print(f"journal {j.path}: {res.records} records, chain intact, head anchor consistent "
              f"(last seq {res.last_seq}, uuid {j.uuid})")
    from core.node import Node

    _verify_mirrors(Node.from_env())
    return 0


def cmd_export(opts):
    from journal.export import export

    if opts.raw or opts.cursor or opts.follow:
        return _raw_export(opts)
    with _open() as j:
        filters = _filter_values(opts)
        if not opts.output:
            export(j, sys.stdout.buffer, filters, opts.format)
            sys.stdout.buffer.flush()
            return 0
        tmp = f"{opts.output}.tmp{os.getpid()}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise UsageError(f"cannot write {opts.output}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as out:
                n = export(j, out, filters, opts.format)
            os.replace(tmp, opts.output)
        except OSError as exc:           # a full disk: no traceback, no half file left behind
            os.unlink(tmp)
            raise UsageError(f"cannot write {opts.output}: {exc.strerror}") from None
        print(f"exported {n} records to {opts.output} ({opts.format})", file=sys.stderr)
        return 0


def _raw_export(opts):
    """export --raw [--cursor C] [-f]: journal.raw's stream on stdout (what `journal pull` reads)."""
    from core.node import Node
    from journal import cursor as cursormod
    from journal.raw import export_raw

    if not opts.raw:
        raise UsageError("--cursor and --follow are options of export --raw")
    if opts.output or any(v is not None for v in _filter_values(opts).values()) or opts.format != "jsonl":
        raise UsageError("export --raw sends every row after the cursor, to stdout: no filter, -o or --format")
    if opts.follow:
        import signal

        signal.signal(signal.SIGINT, signal.default_int_handler)
    with _open() as j:
        after = cursormod.resolve(j, opts.cursor) if opts.cursor is not None else 0
        export_raw(j, sys.stdout.buffer, Node.from_env().name, after=after, follow=opts.follow)
    return 0


def cmd_stats(opts):
    from journal import stats as st

    with _open() as j:
        data = st.stats(j)
        lag = _collector("lag")(j) if _has_collector() else None
    text = st.text(data)
    if lag is not None:
        data["collector"] = lag
        text += "\n" + _collector("lag_text")(lag)
    print(json.dumps(data, indent=2) if opts.output == "json" else text)
    return 0


def cmd_audit(opts):
    from postmortem import audit
    from journal.timespec import parse_time_ns

    if opts.cluster or opts.collector:
        return _cluster_audit(opts)
    with _open() as j:
        found = audit.entries(j, svc=opts.svc, kind=opts.kind, action_id=opts.action_id,
                              since_ns=parse_time_ns(opts.since) if opts.since else None)
    if opts.node:
        found = [e for e in found if e.node == opts.node]
    sys.stdout.write(audit.json_text(found) if opts.format == "json" else audit.text(found))
    return 0


def _sources(opts):
    """The journals --cluster reads (this node's and its mirrors, after a pull unless --no-pull), or with
    --collector every node's, from the collector: the same reading API (rows, journals)."""
    from core.node import Node
    from postmortem import cluster

    if opts.collector:
        return _collector("sources")(opts)
    node = Node.from_env()
    if not opts.no_pull:
        cluster.refresh(node, [opts.svc] if opts.svc else None)
    return cluster.Sources(node)


def _cluster_audit(opts):
    """audit --cluster|--collector: one entry per action across nodes, remote parts nested."""
    from journal.timespec import parse_time_ns
    from postmortem import audit

    with _sources(opts) as src:
        found = audit.cluster_entries(src, svc=opts.svc, kind=opts.kind, action_id=opts.action_id,
                                      since_ns=parse_time_ns(opts.since) if opts.since else None)
    if opts.node:
        found = [e for e in found if e.node == opts.node]
    sys.stdout.write(audit.json_text(found) if opts.format == "json" else audit.cluster_text(found))
    return 0


def cmd_report(opts):
    from postmortem import report

    if opts.cluster or opts.collector:
        with _sources(opts) as src:
            path, entry = report.write_cluster(src, opts.svc, opts.output, action_id=opts.action_id)
        print(f"report of {entry.svc} {entry.action} [act:{entry.action_id[:8]}] written to {path}", file=sys.stderr)
        return 0

    with _open() as j:
        path, entry = report.write(j, opts.svc, opts.output, action_id=opts.action_id)
    print(f"report of {entry.svc} {entry.action} [act:{entry.action_id[:8]}] written to {path}", file=sys.stderr)
    return 0


def cmd_push(opts):
    return _collector("cmd_push")(opts)


COMMANDS = {"push": cmd_push, "tail": cmd_tail, "verify": cmd_verify, "export": cmd_export, "pull": cmd_pull,
            "stats": cmd_stats,
            "audit": cmd_audit, "report": cmd_report, **replay_cli.COMMANDS}


def main(argv) -> int:
    opts = build_parser().parse_args(argv)
    return COMMANDS[opts.cmd](opts)
