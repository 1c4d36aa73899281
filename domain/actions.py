"""The actions: one row per action word, one column per role. The CLI's action list and help, the
planner, the executor's action sets and the audit's kinds are all read from it.

    from domain import actions
    actions.ACTIONS["startfs"].families       # ('disk', 'fs')
    actions.direction("prstop")               # 'stop'
    actions.ROLLBACK                          # the actions whose failure rolls back what they started

`handler` is a name ("module:function", called as handler(node, svc, opts)), never an import: this
module is the vocabulary, below the engine and the CLI that run it.
"""

from core.record import Record
from domain.families import START_ORDER

START, STOP = "start", "stop"
ALL = START_ORDER                       # every family, in start order (stop walks it backwards)

# The kinds of `journal audit` entries (--kind), in the order an entry lists them. An entry's kinds come
# from its action's `audit` column, and from what its transitions show (postmortem.audit).
AUDIT_KINDS = ("start", "stop", "failover", "migration", "rollback", "recovery")

EXECUTOR = "engine.executor:run_action"            # state-changing resource actions (one journaled path)
RELOCATION = "engine.relocation:run_relocation"    # moving a service to another node (docs/agent-reference.md §5.10)


class Action(Record, frozen=True):
    name: str                  # the action words: `start`, `print status`
    handler: str               # "module:function" the CLI calls with (node, svc, opts)
    help: str                  # its line in `osvc-engine --help`
    example: str
    needs_service: bool = True     # False: the service need not exist yet (create)
    from_file: bool = False    # --from FILE renders that saved document: no local service is needed then
    direction: str = ""        # start | stop: which way it moves resources ("": neither, or by parts)
    families: tuple = ()       # the families it plans over, in START_ORDER (): not a planned resource action
    type_filter: str = ""      # only the resources of this driver type inside those families (prstart)
    standby_only: bool = False     # only the standby resources (always_on, 1.5 standby launchers)
    composite: tuple = ()      # run as these actions, in order, under one journaled action (restart)
    lock: str = ""             # the lock it takes: "service" (<svc>), "sync" (<svc>.sync), "" none
    rollback: bool = False     # a failure rolls back what it started (docs/agent-reference.md §5.6)
    without_cluster: bool = False  # allowed on an hb-driven service without --cluster (docs/agent-reference.md §5.8)
    sync: str = ""             # "action": a sync driver method (docs/agent-reference.md §5.7); "hook": presync/postsync (§5.12)
    audit: tuple = ()          # the `journal audit` kinds of its entries (AUDIT_KINDS)


def _cmd(name, handler, help, example, **kw):
    return Action(name, handler, help, example, **kw)


def _run(name, direction, families, help, example, **kw):
    """A state-changing resource action of the executor: it takes the service lock, a failed start
    rolls back, and the audit files it under its direction."""
    kw.setdefault("rollback", direction == START)
    kw.setdefault("audit", (direction,) if direction else ())
    return Action(name, EXECUTOR, help, example, direction=direction, families=families, lock="service", **kw)


def _sync(name, kind, help, example):
    # Sync actions run under the `<svc>.sync` lock; the hooks, run on each node a sync reached, under the
    # service lock (a sync's postsync on a peer must wait for that peer's running action).
    return Action(name, EXECUTOR, help, example, lock="sync" if kind == "action" else "service", sync=kind)


def _pr(name, func, help, example, **kw):
    return Action(name, f"engine.commands.pr:{func}", help, example, **kw)


_ST, _CF, _SV = "engine.commands.status", "engine.commands.config", "engine.commands.service"

ROWS = (
    _cmd("print status", f"{_ST}:print_status",
         "show the status tree (--format json for the document, --from FILE to render a saved one)",
         "osvc-engine -s web1 print status", from_file=True),
    _cmd("json status", f"{_ST}:json_status", "alias of 'print status --format json'",
         "osvc-engine -s web1 json status", from_file=True),
    _cmd("status", f"{_ST}:status", "evaluate the status; the exit code is overall (0 up, 1 down, 2 warn, 3 n/a)",
         "osvc-engine -s web1 status --refresh; echo $?"),
    _cmd("validate config", f"{_CF}:validate_config",
         "check the env file; every problem with file:line, section and keyword",
         "osvc-engine -s web1 validate config"),
    _cmd("print config", f"{_CF}:print_config", "print the env file (--format json: sections and keywords)",
         "osvc-engine -s web1 print config --format json"),
    _cmd("print config mtime", f"{_CF}:print_config_mtime",
         "print the env file's modification time (seconds since the epoch; push compares it)",
         "osvc-engine -s web1 print config mtime"),
    _cmd("push", "engine.commands.encap:push",
         "reconcile the env file with each running guest's copy, newest wins (encapsulated services)",
         "osvc-engine -s web1 push", lock="service"),
    _cmd("pull", "collector.commands:pull",
         "write the collector's copy of the env file to etc/ (a newer local file is kept unless --force)",
         "osvc-engine -s web1 pull", needs_service=False),
    _cmd("get", f"{_CF}:get", "print a keyword's raw value (--eval: as this node sees it)",
         "osvc-engine -s web1 get --param ip#1.ipname --eval"),
    _cmd("set", f"{_CF}:set_", "set a keyword, keeping comments and order",
         "osvc-engine -s web1 set --param fs#1.mnt --value /srv"),
    _cmd("unset", f"{_CF}:unset", "remove a keyword", "osvc-engine -s web1 unset --param fs#1.mnt_opt"),
    _cmd("create", f"{_CF}:create", "create a service from --config FILE or --kw section.key=value",
         "osvc-engine -s web1 create --kw ip#1.ipname=10.0.0.5 --kw ip#1.ipdev=eth0", needs_service=False),
    _cmd("delete", f"{_CF}:delete", "delete a service's env file and launchers", "osvc-engine -s web1 delete"),
    _cmd("freeze", f"{_SV}:freeze", "refuse state-changing actions until thaw (--force overrides); journaled",
         "osvc-engine -s web1 freeze"),
    _cmd("thaw", f"{_SV}:thaw", "undo freeze", "osvc-engine -s web1 thaw"),
    _cmd("frozen", f"{_SV}:frozen", "exit 1 when frozen, 0 otherwise", "osvc-engine -s web1 frozen || echo frozen"),
    _cmd("recover", "engine.resume:recover_action",
         "close an action its crashed process left open: probe, journal the real states "
         "(--resume: then re-run it)", "osvc-engine -s web1 recover --resume", lock="service", audit=("recovery",)),

    # State-changing resource actions: all run by the one executor (engine/executor.py).
    _run("start", START, ALL, "start every resource: ip, disks, fs, share, container, app, encap, hb last",
         "osvc-engine -s web1 start"),
    _run("stop", STOP, ALL, "stop every resource, in the mirror order (hb first)", "osvc-engine -s web1 stop"),
    Action("restart", EXECUTOR, "stop then start, as one journaled action", "osvc-engine -s web1 restart",
           composite=(STOP, START), lock="service", audit=(STOP, START)),
    _run("startstandby", START, ALL, "start only the always_on (standby) resources",
         "osvc-engine -s web1 startstandby", standby_only=True, without_cluster=True),
    # boot runs as start or startstandby (DEFAULT.autostart_node): planned as that one.
    _run("boot", START, (), "start if this node is in autostart_node, else startstandby",
         "osvc-engine -s web1 boot", without_cluster=True),
    _run("shutdown", STOP, ALL, "stop everything, standby resources included", "osvc-engine -s web1 shutdown"),
    _run("startip", START, ("ip",), "start the ip resources", "osvc-engine -s web1 startip"),
    _run("stopip", STOP, ("ip",), "stop the ip resources", "osvc-engine -s web1 stopip"),
    _run("startdisk", START, ("disk",), "start the disk resources", "osvc-engine -s web1 startdisk"),
    _run("stopdisk", STOP, ("disk",), "stop the disk resources", "osvc-engine -s web1 stopdisk"),
    _run("startfs", START, ("disk", "fs"), "start disks then filesystems", "osvc-engine -s web1 startfs"),
    _run("stopfs", STOP, ("disk", "fs"), "stop filesystems then disks", "osvc-engine -s web1 stopfs"),
    _run("startshare", START, ("share",), "start the shares", "osvc-engine -s web1 startshare"),
    _run("stopshare", STOP, ("share",), "stop the shares", "osvc-engine -s web1 stopshare"),
    _run("startcontainer", START, ("container",), "start the containers (VMs)", "osvc-engine -s web1 startcontainer"),
    _run("stopcontainer", STOP, ("container",), "stop the containers (VMs)", "osvc-engine -s web1 stopcontainer"),
    _run("startapp", START, ("app",), "run the app launchers' start", "osvc-engine -s web1 startapp"),
    _run("stopapp", STOP, ("app",), "run the app launchers' stop", "osvc-engine -s web1 stopapp"),
    _run("starthb", START, ("hb",), "enable HA (hb resources)", "osvc-engine -s web1 --cluster starthb"),
    _run("stophb", STOP, ("hb",), "disable HA (hb resources)", "osvc-engine -s web1 --cluster stophb"),
    _sync("sync_nodes", "action", "copy the sync resources' data to the other nodes", "osvc-engine -s web1 sync_nodes"),
    _sync("sync_drp", "action", "copy the sync resources' data to the drp nodes", "osvc-engine -s web1 sync_drp"),
    _sync("sync_all", "action", "sync_nodes then sync_drp", "osvc-engine -s web1 sync_all"),
    _sync("presync", "hook", "prepare what a sync sends (srp: export the SRP definition); sync actions run it first",
          "osvc-engine -s srp1 presync"),
    _sync("postsync", "hook", "install what a sync brought (srp: import the SRP); the syncing node runs it here",
          "osvc-engine -s srp1 postsync --waitlock 3600"),
    _run("prstart", START, ("disk",), "take the SCSI-3 persistent reservations", "osvc-engine -s web1 prstart",
         type_filter="scsireserv"),
    _run("prstop", STOP, ("disk",), "release the SCSI-3 persistent reservations", "osvc-engine -s web1 prstop",
         type_filter="scsireserv"),

    # Cluster actions moving a service to another node (docs/agent-reference.md §5.10): engine/relocation.py.
    Action("switch", RELOCATION, "stop here, then start on the --to node (its own journaled start there)",
           "osvc-engine -s web1 switch --to node2", lock="service", audit=("failover",)),
    Action("migrate", RELOCATION,
           "live-migrate the VM to the --to node (ovm, hpvm): startfs there, migrate, stopfs here",
           "osvc-engine -s ovmguest1 migrate --to ovmnode2 --cluster", lock="service", audit=("migration",)),

    # SCSI-3 reservations (docs/agent-reference.md §6.3): prstatus and the 1.x aliases, and the seed's diskupdate.
    _pr("prstatus", "prstatus", "status of the SCSI-3 reservations only; exit code is their status",
        "osvc-engine -s web1 prstatus"),
    _pr("scsireserv", "scsireserv", "alias of prstart", "osvc-engine -s web1 scsireserv"),
    _pr("scsirelease", "scsirelease", "alias of prstop", "osvc-engine -s web1 scsirelease"),
    _pr("scsicheckreserv", "scsicheckreserv", "alias of prstatus", "osvc-engine -s web1 scsicheckreserv"),
    _pr("diskupdate", "diskupdate", "refresh the VM disk lists and the reservations held on them (journaled)",
        "osvc-engine -s vm188 diskupdate", lock="service"),
)

ACTIONS = {a.name: a for a in ROWS}     # name -> Action, in the order `osvc-engine --help` lists them


# --- the derived sets (each a column of the table) ---------------------------------------------------
PLANNED = tuple(a.name for a in ROWS if a.families)               # what engine.plan.plan accepts
ROLLBACK = frozenset(a.name for a in ROWS if a.rollback)
WITHOUT_CLUSTER = frozenset(a.name for a in ROWS if a.without_cluster)
COMPOSITE = {a.name: a.composite for a in ROWS if a.composite}
SYNC_ACTIONS = tuple(a.name for a in ROWS if a.sync == "action")
SYNC_HOOKS = tuple(a.name for a in ROWS if a.sync == "hook")
AUDIT_OF = {a.name: a.audit for a in ROWS if a.audit}             # action -> its audit kinds


def direction(name: str) -> str:
    """`start` or `stop` for an action that moves resources one way (boot, prstart, stopfs...), else ""."""
    action = ACTIONS.get(name)
    return action.direction if action else ""


def lock_name(name: str, svc: str) -> str | None:
    """The lock file name an action takes on `svc` (`web1`, `web1.sync`), None when it takes none."""
    lock = ACTIONS[name].lock
    return {"service": svc, "sync": f"{svc}.sync"}.get(lock)
