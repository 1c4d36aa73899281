"""The `osvc-engine` command: argument parsing and dispatch only.

Grammar (the svcmgr grammar of the 1.x agent):

    osvc-engine -s SVC[,SVC2|glob] [options] ACTION WORDS
    osvc-engine journal SUBCOMMAND [options]
    osvc-engine machines [KIND] [--format text|mermaid|json]
    osvc-engine keywords [SECTION]

Handlers are imported lazily, so `print status` never pays for `sh` or `sqlite_utils`.
"""

import os
import sys

_tables_cache = []


def _tables():
    """(ACTION_TABLE, ACTIONS), made on first use: the cached `print status` (fast_print_status) never
    imports domain.actions. ACTION_TABLE is domain/actions.py's table; ACTIONS maps action words ->
    (handler "module:function", needs an existing service, one-line help, example), the table as the
    dispatch reads it. Both stay readable as `cli.ACTION_TABLE` and `cli.ACTIONS` (__getattr__ below)."""
    if not _tables_cache:
        from domain.actions import ACTIONS as table

        _tables_cache[:] = table, {a.name: (a.handler, a.needs_service, a.help, a.example) for a in table.values()}
    return _tables_cache


def __getattr__(name):
    if name in ("ACTION_TABLE", "ACTIONS"):
        return _tables()[name == "ACTIONS"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Subcommand families with their own parsers: "module:function" taking (argv) -> int
FAMILIES = {
    "journal": "postmortem.cli:main",
    "machines": "cli:machines_command",
    "keywords": "config.reference:main",
}


def machines_command(argv):
    """`osvc-engine machines`: the machines package knows machine kinds, the families table which family
    runs which; the two share a layer and never import each other, so the CLI hands one to the other."""
    from domain.families import MACHINE_KINDS
    from machines import cli as machines_cli

    return machines_cli.main(argv, families=MACHINE_KINDS)

DESCRIPTION = """\
osvc-engine manages services (a VM or container of any technology, its ip
addresses, disks, filesystems, applications, syncs and HA heartbeat) with the
commands of the OpenSVC agent. Every state change is journaled first.
"""


def _resolve(spec):
    import importlib  # here: the cached `print status` (fast_print_status) never loads importlib, nor warnings

    module, func = spec.split(":")
    return getattr(importlib.import_module(module), func)


def _epilog():
    lines = ["actions:"]
    for words, (_, _, text, example) in _tables()[1].items():
        lines.append(f"  {words:<17} {text}")
        lines.append(f"  {'':<17}   e.g. {example}")
    lines += [
        "",
        "other commands:",
        "  journal           tail, verify, replay, audit, report, snapshot, export, pull, push, stats (osvc-engine journal --help)",
        "  machines          print the state machines (osvc-engine machines --help)",
        "  keywords          print the env file keywords, markdown (docs/keywords.md is its output)",
        "",
        "environment: OSVC_ROOT (default /var/lib/osvc-engine as root), OSVC_NODENAME (default the host name)",
    ]
    return "\n".join(lines)


def _columns():
    """What shutil.get_terminal_size() says, without importing shutil (and bz2, lzma) on every
    command: argparse builds a formatter for each add_argument, and its default asks shutil."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 80


def build_parser():
    # here: the cached `print status` (fast_print_status) never imports argparse, nor re and enum
    import argparse

    class HelpFormatter(argparse.RawDescriptionHelpFormatter):
        def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
            super().__init__(prog, indent_increment, max_help_position, width or _columns() - 2)

    p = argparse.ArgumentParser(
        prog="osvc-engine", description=DESCRIPTION, epilog=_epilog(), formatter_class=HelpFormatter)
    p.add_argument("-s", "--service", dest="service", help="service name(s): a,b or a glob (quote it)")
    p.add_argument("words", nargs="+", metavar="ACTION", help="the action, e.g. start, print status")
    sel = p.add_argument_group("resource selection")
    sel.add_argument("--rid", help="resource ids or families, comma separated (ip#1,fs)")
    sel.add_argument("--tags", help="tags: a,b selects either, a+b selects both")
    sel.add_argument("--subsets", help="subsets, comma separated")
    sel.add_argument("--master", action="store_true", help="act on the host part of an encap service")
    sel.add_argument("--slave", help="act on these containers' encapsulated part")
    sel.add_argument("--slaves", action="store_true", help="act on every container's encapsulated part")
    act = p.add_argument_group("action control")
    act.add_argument("--cluster", action="store_true", help="act as the clusterware (hb-driven services)")
    act.add_argument("--waitlock", type=float, default=None, metavar="N",
                     help="seconds to wait for the service lock (default DEFAULT.lock_timeout, 60)")
    act.add_argument("--dry-run", action="store_true", help="print the planned steps; change nothing")
    act.add_argument("--force", action="store_true", help="override the frozen and standby safety nets")
    act.add_argument("--disable-rollback", action="store_true", help="do not roll back a failed start")
    act.add_argument("--to", metavar="NODE", help="destination node of migrate/switch")
    act.add_argument("--refresh", action="store_true", help="re-evaluate the status instead of reading the cache")
    act.add_argument("--resume", action="store_true", help="recover: re-run the interrupted action afterwards")
    out = p.add_argument_group("output and config")
    out.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    out.add_argument("--color", choices=("auto", "yes", "no"), default="auto", help="colourise (default: on a tty)")
    out.add_argument("--from", dest="from_file", metavar="FILE", help="render a saved status document")
    shown = out.add_mutually_exclusive_group()
    shown.add_argument("--show-disabled", dest="show_disabled", action="store_const", const=True,
                       help="print status: draw disabled resources (overrides DEFAULT.show_disabled)")
    shown.add_argument("--hide-disabled", dest="show_disabled", action="store_const", const=False,
                       help="print status: leave disabled resources out of the tree")
    out.add_argument("--param", help="SECTION.KEY (SECTION. may be omitted for DEFAULT)")
    out.add_argument("--value", help="the value for set")
    out.add_argument("--eval", action="store_true", help="get: the value after scoping and references")
    out.add_argument("--config", metavar="FILE", help="create: the env file to install")
    out.add_argument("--kw", action="append", default=[], metavar="S.K=V", help="create: a keyword (repeatable)")
    out.add_argument("--mtime", type=float, metavar="SECONDS",
                     help="create: the env file's modification time (push keeps the newest copy's)")
    return p


def did_you_mean(words):
    """`: did you mean 'start'?` from the actions table: the actions these words begin (`print` -> `print
    status`...), else the closest spellings (difflib); "" when nothing is close."""
    import difflib

    actions = _tables()[1]
    found = [a for a in actions if a.startswith(words + " ")] or difflib.get_close_matches(words, actions, n=3,
                                                                                          cutoff=0.7)
    if not found:
        return ""
    quoted = [f"'{a}'" for a in found]
    return f": did you mean {' or '.join([', '.join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)}?"


def report(exc):
    """The final `osvc-engine: error: ...` on stderr, unless the console's ERROR line just showed the same words
    on the same terminal (core/log.py shown_on_terminal): an error is printed once. Redirected or captured,
    stderr always gets it."""
    from core.log import shown_on_terminal

    if not shown_on_terminal(str(exc)):
        print(f"osvc-engine: error: {exc}", file=sys.stderr)


def select_services(node, pattern, must_exist=True):
    """Expand `a,b,glob*` against the node's services; unknown names are an error listing what exists."""
    import fnmatch

    from core.errors import NotFound, UsageError
    from core.node import check_service_name

    if not pattern:
        raise UsageError("no service given: use -s SVC (several: -s a,b or a glob)")
    known = node.services()
    selected = []
    for item in filter(None, (x.strip() for x in pattern.split(","))):
        if any(ch in item for ch in "*?["):
            matches = fnmatch.filter(known, item)
            if not matches:
                raise NotFound(f"no service matches '{item}' in {node.etc} (services there: "
                               f"{', '.join(known) or 'none'})")
            selected += [m for m in matches if m not in selected]
        elif check_service_name(item) and must_exist and item not in known:
            raise NotFound(f"unknown service '{item}' in {node.etc} (services there: {', '.join(known) or 'none'})")
        elif item not in selected:
            selected.append(item)
    return selected


def request_from(opts, argv):
    """The engine's input (engine.request.ActionRequest) from the parsed command line: argparse's
    namespace goes no further than this function."""
    from engine.request import ActionRequest

    fields = {f: getattr(opts, f) for f in ActionRequest._fields if hasattr(opts, f)}
    fields["kw"] = tuple(fields.get("kw") or ())
    return ActionRequest(**{**fields, "action": " ".join(opts.words), "argv": ("osvc-engine", *argv)})


def run(argv):
    if argv and argv[0] in FAMILIES:
        return _resolve(FAMILIES[argv[0]])(argv[1:])
    parser = build_parser()
    opts = parser.parse_intermixed_args(argv)
    words = " ".join(opts.words)
    action_table, actions = _tables()
    if words not in actions:
        parser.error(f"unknown action '{words}'{did_you_mean(words)} (see osvc-engine --help)")
    spec, must_exist, _, _ = actions[words]
    request = request_from(opts, argv)

    from core.node import Node

    node = Node.from_env()
    handler = _resolve(spec)
    if request.from_file and action_table[words].from_file:
        # a peer's or a postmortem's document names its own service: nothing here need exist (issue 17, item 18)
        return handler(node, opts.service, request) or 0
    services = select_services(node, opts.service, must_exist)
    mark = journal_mark(node)
    try:
        if len(services) == 1:
            rc = handler(node, services[0], request) or 0
        else:
            rc = run_each(handler, node, services, request)
    except Exception:
        after_action(node, words, services, mark, None)    # a failed action's records matter most
        raise
    return after_action(node, words, services, mark, rc)


# After an action, the collector (collector/hook.py) ships what it journaled and stores what `push` sends.
# Named, not imported: without `[collector] dsn` in node.conf nothing of it loads, and an action that
# journaled nothing (print status from the cache) does not even read node.conf for it.
AFTER_ACTION = "collector.hook:after_action"


def journal_mark(node):
    """(size, mtime) of the journal and its WAL: every commit changes one of them, so the mark taken before
    an action and the one after tell whether it journaled anything, for two stat calls."""
    marks = []
    for suffix in ("", "-wal"):
        try:
            st = os.stat(f"{node.journal_path}{suffix}")
            marks.append((st.st_size, st.st_mtime_ns))
        except OSError:
            marks.append(None)
    return marks


def after_action(node, words, services, mark, rc):
    """The action's exit code, once the collector had its turn (collector/hook.py: bounded, never fails
    the action; only the collector's part of a successful `push` may turn 0 into 1)."""
    journaled = journal_mark(node) != mark
    if not journaled and words != "push" or not (node.setting("collector", "dsn") or "").strip():
        return rc
    return _resolve(AFTER_ACTION)(node, words, services, journaled, rc)


def run_each(handler, node, services, request):
    """Several services (a list or a glob, `boot` at boot time): one that fails or is refused (a bad env
    file, a held lock) is reported and the others still run; the exit code is the worst one."""
    from core.errors import OsvcError

    rc = 0
    for svc in services:
        try:
            rc = max(rc, handler(node, svc, request) or 0)
        except OsvcError as exc:
            report(exc)
            rc = max(rc, exc.exit_code)
    return rc


# The cached `print status` without argparse (which pulls re, enum, gettext), core.node and pathlib (fnmatch,
# re, urllib.parse): only `-s SVC print status [--format text|json]` (`--service`, `=` forms), one existing
# service whose cache engine.states.read_cache would serve. Anything else, and every error, takes the full
# path, which then says what it always says. tests/test_cli_fast.py holds the two paths to the same output.
_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = _NAME_FIRST | frozenset("._-")


def _fast_args(argv):
    """(svc, format) of exactly `-s SVC print status [--format text|json]`, in any order, else None."""
    found, words = {}, []
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        key = {"-s": "svc", "--service": "svc", "--format": "format"}.get(name)
        if key is None:
            if arg.startswith("-"):
                return None
            words.append(arg)
            continue
        if not eq:
            value = next(args, None)
        if key in found or value is None:
            return None
        found[key] = value
    svc, fmt = found.get("svc"), found.get("format", "text")
    if words != ["print", "status"] or fmt not in ("text", "json") or not svc:
        return None
    if len(svc) > 128 or svc[0] not in _NAME_FIRST or not _NAME_CHARS.issuperset(svc) or ".." in svc \
            or svc in ("node", "auth"):     # core.node is_service_name, without re
        return None
    return svc, fmt


def _fast_root():
    """core.node.default_root(), as a string."""
    if os.environ.get("OSVC_ROOT"):
        return os.environ["OSVC_ROOT"]
    if os.geteuid() == 0:
        return "/var/lib/osvc-engine"
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "osvc-engine")


class _JsonContext:
    """What json.decoder.JSONDecoder gives the C scanner, by default (json.loads(text) as json.load reads)."""
    strict, object_hook, object_pairs_hook, parse_float, parse_int = True, None, None, float, int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__

    def __init__(self):
        self.memo = {}


def _fast_json(text):
    """json.loads(text) through the C scanner alone: the json package imports re (~10 ms, a third of the
    cached read). Anything it does not take as a whole document raises; the caller falls back."""
    import _json

    blank = " \t\n\r"
    start = len(text) - len(text.lstrip(blank))
    doc, end = _json.make_scanner(_JsonContext())(text, start)
    if text[end:].strip(blank) or not isinstance(doc, dict):
        raise ValueError("not one status document")
    return doc


def fast_print_status(argv):
    """What `print status` writes when its cached document is valid (engine.states.read_cache), else None."""
    parsed = _fast_args(argv)
    if parsed is None:
        return None
    svc, fmt = parsed
    etc = os.path.join(_fast_root(), "etc")
    env, conf = os.path.join(etc, svc + ".env"), os.path.join(etc, svc + ".conf")
    if not (os.path.isfile(env) or os.path.isfile(conf)):     # not in node.services(): the full path says so
        return None
    cache = os.path.join(_fast_root(), "var", svc, "status.json")
    try:
        mtime = os.stat(cache).st_mtime
        env_file = env if os.path.exists(env) or not os.path.exists(conf) else conf     # Node.env_file
        for dep in (env_file, os.path.join(etc, svc + ".d")):
            try:
                if os.stat(dep).st_mtime > mtime:
                    return None
            except FileNotFoundError:
                pass
        with open(cache) as fh:
            text = fh.read()
        if fmt == "json":
            import json

            return json.dumps(json.loads(text), indent=2) + "\n"
        doc = _fast_json(text)
        from domain import render

        return render.render(doc, color=sys.stdout.isatty(), show_disabled=None)
    except Exception:  # noqa: BLE001 - unreadable, malformed: the full path reads it again and answers (or fails) as ever
        return None


def main(argv=None):
    from core.errors import OsvcError

    argv = sys.argv[1:] if argv is None else argv
    try:
        text = fast_print_status(argv)
        if text is not None:
            sys.stdout.write(text)
            return 0
        return run(argv)
    except OsvcError as exc:
        report(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("osvc-engine: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
