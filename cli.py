"""The `osvc-engine` command: argument parsing and dispatch only.

Grammar (the svcmgr grammar of the 1.x agent):

    osvc-engine -s SVC[,SVC2|glob] [options] ACTION WORDS
    osvc-engine journal SUBCOMMAND [options]
    osvc-engine machines [KIND] [--format text|mermaid|json]

Handlers are imported lazily, so `print status` never pays for `sh` or `sqlite_utils`.
"""

import argparse
import fnmatch
import importlib
import os
import sys

# action words -> (handler "module:function", needs an existing service, one-line help, example)
ACTIONS = {
    "print status": ("engine.commands.status:print_status", True,
                     "show the status tree (--format json for the document, --from FILE to render a saved one)",
                     "osvc-engine -s web1 print status"),
    "json status": ("engine.commands.status:json_status", True,
                    "alias of 'print status --format json'", "osvc-engine -s web1 json status"),
    "status": ("engine.commands.status:status", True,
               "evaluate the status; the exit code is overall (0 up, 1 down, 2 warn, 3 n/a)",
               "osvc-engine -s web1 status --refresh; echo $?"),
    "validate config": ("engine.commands.config:validate_config", True,
                        "check the env file; every problem with file:line, section and keyword",
                        "osvc-engine -s web1 validate config"),
    "print config": ("engine.commands.config:print_config", True,
                     "print the env file (--format json: sections and keywords)",
                     "osvc-engine -s web1 print config --format json"),
    "get": ("engine.commands.config:get", True,
            "print a keyword's raw value (--eval: as this node sees it)",
            "osvc-engine -s web1 get --param ip#1.ipname --eval"),
    "set": ("engine.commands.config:set_", True,
            "set a keyword, keeping comments and order", "osvc-engine -s web1 set --param fs#1.mnt --value /srv"),
    "unset": ("engine.commands.config:unset", True,
              "remove a keyword", "osvc-engine -s web1 unset --param fs#1.mnt_opt"),
    "create": ("engine.commands.config:create", False,
               "create a service from --config FILE or --kw section.key=value",
               "osvc-engine -s web1 create --kw ip#1.ipname=10.0.0.5 --kw ip#1.ipdev=eth0"),
    "delete": ("engine.commands.config:delete", True,
               "delete a service's env file and launchers", "osvc-engine -s web1 delete"),
    "freeze": ("engine.commands.service:freeze", True,
               "refuse state-changing actions until thaw (--force overrides); journaled",
               "osvc-engine -s web1 freeze"),
    "thaw": ("engine.commands.service:thaw", True, "undo freeze", "osvc-engine -s web1 thaw"),
    "frozen": ("engine.commands.service:frozen", True, "exit 1 when frozen, 0 otherwise",
               "osvc-engine -s web1 frozen || echo frozen"),
    "recover": ("engine.recovery:recover_action", True,
                "close an action its crashed process left open: probe, journal the real states "
                "(--resume: then re-run it)", "osvc-engine -s web1 recover --resume"),
}

# State-changing resource actions: all run by the one executor (engine/executor.py).
_RUN = "engine.executor:run_action"
for _words, _text, _example in (
    ("start", "start every resource: ip, disks, fs, share, container, app, encap, hb last",
     "osvc-engine -s web1 start"),
    ("stop", "stop every resource, in the mirror order (hb first)", "osvc-engine -s web1 stop"),
    ("restart", "stop then start, as one journaled action", "osvc-engine -s web1 restart"),
    ("startstandby", "start only the always_on (standby) resources", "osvc-engine -s web1 startstandby"),
    ("boot", "start if this node is in autostart_node, else startstandby", "osvc-engine -s web1 boot"),
    ("shutdown", "stop everything, standby resources included", "osvc-engine -s web1 shutdown"),
    ("startip", "start the ip resources", "osvc-engine -s web1 startip"),
    ("stopip", "stop the ip resources", "osvc-engine -s web1 stopip"),
    ("startdisk", "start the disk resources", "osvc-engine -s web1 startdisk"),
    ("stopdisk", "stop the disk resources", "osvc-engine -s web1 stopdisk"),
    ("startfs", "start disks then filesystems", "osvc-engine -s web1 startfs"),
    ("stopfs", "stop filesystems then disks", "osvc-engine -s web1 stopfs"),
    ("startshare", "start the shares", "osvc-engine -s web1 startshare"),
    ("stopshare", "stop the shares", "osvc-engine -s web1 stopshare"),
    ("startcontainer", "start the containers (VMs)", "osvc-engine -s web1 startcontainer"),
    ("stopcontainer", "stop the containers (VMs)", "osvc-engine -s web1 stopcontainer"),
    ("startapp", "run the app launchers' start", "osvc-engine -s web1 startapp"),
    ("stopapp", "run the app launchers' stop", "osvc-engine -s web1 stopapp"),
    ("starthb", "enable HA (hb resources)", "osvc-engine -s web1 --cluster starthb"),
    ("stophb", "disable HA (hb resources)", "osvc-engine -s web1 --cluster stophb"),
    ("sync_nodes", "copy the sync resources' data to the other nodes", "osvc-engine -s web1 sync_nodes"),
    ("sync_drp", "copy the sync resources' data to the drp nodes", "osvc-engine -s web1 sync_drp"),
    ("sync_all", "sync_nodes then sync_drp", "osvc-engine -s web1 sync_all"),
    ("presync", "prepare what a sync sends (srp: export the SRP definition); sync actions run it first",
     "osvc-engine -s srp1 presync"),
    ("postsync", "install what a sync brought (srp: import the SRP); the syncing node runs it here",
     "osvc-engine -s srp1 postsync --waitlock 3600"),
    ("prstart", "take the SCSI-3 persistent reservations", "osvc-engine -s web1 prstart"),
    ("prstop", "release the SCSI-3 persistent reservations", "osvc-engine -s web1 prstop"),
):
    ACTIONS[_words] = (_RUN, True, _text, _example)

# Cluster actions moving a service to another node (reference §5.10): engine/relocation.py.
for _words, _text, _example in (
    ("switch", "stop here, then start on the --to node (its own journaled start there)",
     "osvc-engine -s web1 switch --to node2"),
    ("migrate", "live-migrate the VM to the --to node (ovm, hpvm): startfs there, migrate, stopfs here",
     "osvc-engine -s ovmguest1 migrate --to ovmnode2 --cluster"),
):
    ACTIONS[_words] = ("engine.relocation:run_relocation", True, _text, _example)

# SCSI-3 reservations (reference §6.3): prstatus and the 1.x aliases, and the seed's diskupdate.
for _words, _func, _text, _example in (
    ("prstatus", "prstatus", "status of the SCSI-3 reservations only; exit code is their status",
     "osvc-engine -s web1 prstatus"),
    ("scsireserv", "scsireserv", "alias of prstart", "osvc-engine -s web1 scsireserv"),
    ("scsirelease", "scsirelease", "alias of prstop", "osvc-engine -s web1 scsirelease"),
    ("scsicheckreserv", "scsicheckreserv", "alias of prstatus", "osvc-engine -s web1 scsicheckreserv"),
    ("diskupdate", "diskupdate", "refresh the VM disk lists and the reservations held on them (journaled)",
     "osvc-engine -s vm188 diskupdate"),
):
    ACTIONS[_words] = (f"engine.commands.pr:{_func}", True, _text, _example)

# Subcommand families with their own parsers: "module:function" taking (argv) -> int
FAMILIES = {
    "journal": "postmortem.cli:main",
    "machines": "machines.cli:main",
}

DESCRIPTION = """\
osvc-engine manages services (a VM or container of any technology, its ip
addresses, disks, filesystems, applications, syncs and HA heartbeat) with the
commands of the OpenSVC agent. Every state change is journaled first.
"""


def _resolve(spec):
    module, func = spec.split(":")
    return getattr(importlib.import_module(module), func)


def _epilog():
    lines = ["actions:"]
    for words, (_, _, text, example) in ACTIONS.items():
        lines.append(f"  {words:<17} {text}")
        lines.append(f"  {'':<17}   e.g. {example}")
    lines += [
        "",
        "other commands:",
        "  journal           tail, verify, replay, audit, report, snapshot, export, stats (osvc-engine journal --help)",
        "  machines          print the state machines (osvc-engine machines --help)",
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


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        super().__init__(prog, indent_increment, max_help_position, width or _columns() - 2)


def build_parser():
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
    return p


def select_services(node, pattern, must_exist=True):
    """Expand `a,b,glob*` against the node's services; unknown names are an error listing what exists."""
    from core.errors import NotFound, UsageError

    if not pattern:
        raise UsageError("no service given: use -s SVC (several: -s a,b or a glob)")
    known = node.services()
    selected = []
    for item in filter(None, (x.strip() for x in pattern.split(","))):
        if any(ch in item for ch in "*?["):
            matches = fnmatch.filter(known, item)
            if not matches:
                raise NotFound(f"no service matches '{item}' (services here: {', '.join(known) or 'none'})")
            selected += [m for m in matches if m not in selected]
        elif must_exist and item not in known:
            raise NotFound(f"unknown service '{item}' (services here: {', '.join(known) or 'none'})")
        elif item not in selected:
            selected.append(item)
    return selected


def run(argv):
    if argv and argv[0] in FAMILIES:
        return _resolve(FAMILIES[argv[0]])(argv[1:])
    parser = build_parser()
    opts = parser.parse_intermixed_args(argv)
    words = " ".join(opts.words)
    if words not in ACTIONS:
        parser.error(f"unknown action '{words}' (see osvc-engine --help)")
    spec, must_exist, _, _ = ACTIONS[words]
    opts.action = words
    opts.argv = ["osvc-engine", *argv]

    from core.node import Node

    node = Node.from_env()
    handler = _resolve(spec)
    rc = 0
    for svc in select_services(node, opts.service, must_exist):
        rc = max(rc, handler(node, svc, opts) or 0)
    return rc


def main(argv=None):
    from core.errors import OsvcError

    try:
        return run(sys.argv[1:] if argv is None else argv)
    except OsvcError as exc:
        print(f"osvc-engine: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("osvc-engine: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
