"""The state machines, as data: states, triggers, sources and destinations, one table per kind.

Pure data and pure lookups: importing this module never imports `transitions` (the `machines`
command and the dry-run planner read these tables without paying for it). `machines.core` builds
the running machines from the same tables.

Conventions (docs/machines.md is generated from these tables by `osvc-engine machines`):
- State names are the DESIGN's strings (`wait-up`, `start-failed`); trigger names are Python
  identifiers (`observed_down`, `start_failed`) because transitions binds them as model methods.
- A *stable* state is one an action may end in; a *transient* state only exists while an action
  runs. An action may begin from any stable state (a start of an `up` resource is journaled as
  `up -> starting -> up`: the record tells the truth, and the executor never trips on a stale belief).
  Transient states accept only the triggers that move their own action forward or end it.
- `observed_up` / `observed_down`: a probe saw reality differ from the machine's belief.
- Crash recovery: for every stable state S there is a trigger `recover_<S>` (hyphens as
  underscores) from any state (`*`) to S. Recovery fires the one matching what the probes see,
  e.g. `recover_up` for a container found running after a crash in `wait-ping`.
- A machine's transient states are declared by direction: those of a start (`starting`, `wait-up`...),
  those of a stop (`stopping`, `wait-down`...), and the others (`migrating`). What "up", "down" and
  "stopping" mean to the engine (recovery, the executor's probe, relocation, the audit) is read here:
  `is_up`, `UP_STATES`, `DOWN_STATES`, `direction_of`, `SOURCE_STATES`, `DONE_STATES`, `BEGINS`.

Which machine a resource family runs is the families table's business (`domain.families.machine_of`,
a kind name): machines know kinds, not families (the two packages share a layer and never import
each other).
"""

from core.record import Record

ANY = "*"   # in a row's sources: every state of the machine (the recovery rows)


START, STOP = "start", "stop"


class MachineDef(Record, frozen=True):
    kind: str
    doc: str                  # one line: what the machine models
    initial: str
    stable: tuple             # states an action may end in (recover_<state> exists for each)
    transient: tuple          # states that only exist while an action runs: starting + stopping + others
    rows: tuple               # (trigger, sources tuple or ANY, dest), in display order
    starting: tuple = ()      # the transient states of a start, in order
    stopping: tuple = ()      # the transient states of a stop, in order

    @property
    def states(self) -> tuple:
        return self.stable + self.transient


def _recover_rows(stable):
    return tuple((f"recover_{s.replace('-', '_')}", ANY, s) for s in stable)


def _define(kind, doc, initial, stable, rows, starting=(), stopping=(), other=()):
    return MachineDef(kind, doc, initial, tuple(stable), (*starting, *stopping, *other),
                      tuple(rows) + _recover_rows(stable), tuple(starting), tuple(stopping))


# --- container: a VM or container of any technology ------------------------------------------
_C_STABLE = ("down", "up", "start-failed", "stop-failed")
CONTAINER = _define(
    "container",
    "a VM or container: boot, then wait for up status, ping and operational (ssh pwd) before up",
    "down", _C_STABLE,
    starting=("starting", "wait-up", "wait-ping", "wait-operational"),
    stopping=("stopping", "wait-down", "force-stopping"),
    other=("migrating",),
    rows=[
        ("start", _C_STABLE, "starting"),
        ("wait_up", ("starting",), "wait-up"),
        # A driver without ping or operational checks passes through these at once: the journal still shows them.
        ("wait_ping", ("wait-up",), "wait-ping"),
        ("wait_operational", ("wait-ping",), "wait-operational"),
        # From migrating: the end of a migration says where the container runs now (up here, down here).
        ("started", ("wait-operational", "migrating"), "up"),
        ("start_failed", ("starting", "wait-up", "wait-ping", "wait-operational", "migrating"), "start-failed"),
        ("stop", _C_STABLE, "stopping"),
        ("wait_down", ("stopping", "force-stopping"), "wait-down"),
        ("force_stop", ("wait-down",), "force-stopping"),     # the stop timeout expired
        ("stopped", ("wait-down", "migrating"), "down"),
        ("stop_failed", ("stopping", "wait-down", "force-stopping", "migrating"), "stop-failed"),
        ("migrate", ("up", "down"), "migrating"),              # up on the source node, down on the destination
        ("observed_up", ("down", "start-failed", "stop-failed"), "up"),
        ("observed_down", ("up", "start-failed", "stop-failed"), "down"),
    ])

# --- hb: the HA heartbeat (e.g. the OVM manager's HA flag) --------------------------------------
_H_STABLE = ("ha-disabled", "ha-enabled", "ha-failed")
HB = _define(
    "hb",
    "an HA heartbeat resource (e.g. hb.ovm): enable or disable the clusterware's HA on the service",
    "ha-disabled", _H_STABLE, starting=("ha-enabling",), stopping=("ha-disabling",),
    rows=[
        ("enable", _H_STABLE, "ha-enabling"),
        ("enabled", ("ha-enabling",), "ha-enabled"),
        ("enable_failed", ("ha-enabling",), "ha-failed"),
        ("disable", _H_STABLE, "ha-disabling"),
        ("disabled", ("ha-disabling",), "ha-disabled"),
        ("disable_failed", ("ha-disabling",), "ha-failed"),
        ("observed_up", ("ha-disabled", "ha-failed"), "ha-enabled"),
        ("observed_down", ("ha-enabled", "ha-failed"), "ha-disabled"),
    ])

# --- resource: ip, disk, fs, share, app, sync ------------------------------------------------
_R_STABLE = ("down", "up", "start-failed", "stop-failed")
RESOURCE = _define(
    "resource",
    "a simple resource (ip, disk, fs, share, app, sync): one command starts it, one stops it",
    "down", _R_STABLE, starting=("starting",), stopping=("stopping",),
    rows=[
        ("start", _R_STABLE, "starting"),
        ("started", ("starting",), "up"),
        ("start_failed", ("starting",), "start-failed"),
        ("stop", _R_STABLE, "stopping"),
        ("stopped", ("stopping",), "down"),
        ("stop_failed", ("stopping",), "stop-failed"),
        ("observed_up", ("down", "start-failed", "stop-failed"), "up"),
        ("observed_down", ("up", "start-failed", "stop-failed"), "down"),
    ])

# --- encap: the guest engine's part of an action, one machine per container -----------------------
# Its rid is `encap:<container rid>`. `up`: the last start the guest engine ran went through; the
# guest's own journal holds its resources' machines.
_E_STABLE = ("down", "up", "start-failed", "stop-failed")
ENCAP = _define(
    "encap",
    "the guest engine's part of an action: the same action run by the engine inside a running container",
    "down", _E_STABLE, starting=("starting",), stopping=("stopping",),
    rows=[
        ("start", _E_STABLE, "starting"),
        ("started", ("starting",), "up"),
        ("start_failed", ("starting",), "start-failed"),
        ("stop", _E_STABLE, "stopping"),
        ("stopped", ("stopping",), "down"),
        ("stop_failed", ("stopping",), "stop-failed"),
    ])

# --- service: the action in progress and the outcome of the last one ----------------------------
# `frozen` is a journaled flag, not a state: a frozen service keeps its state and refuses actions.
_S_STABLE = ("idle", "started", "stopped", "start-failed", "stop-failed")
SERVICE = _define(
    "service",
    "a service: which action runs, and how the last one ended (frozen is a flag, not a state)",
    "idle", _S_STABLE, starting=("starting",), stopping=("stopping",),
    other=("rolling-back", "migrating", "switching"),
    rows=[
        ("start", _S_STABLE, "starting"),
        # A migrate or switch ends like a start or a stop on this node: running here, or not.
        ("started", ("starting", "migrating", "switching"), "started"),
        ("start_failed", ("starting", "migrating", "switching"), "start-failed"),
        ("rollback", ("starting", "start-failed"), "rolling-back"),
        # Either way the start failed: the event (rolled_back or rollback_failed) says how the undo went.
        ("rolled_back", ("rolling-back",), "start-failed"),
        ("rollback_failed", ("rolling-back",), "start-failed"),
        ("stop", _S_STABLE, "stopping"),
        ("stopped", ("stopping", "migrating", "switching"), "stopped"),
        ("stop_failed", ("stopping", "migrating", "switching"), "stop-failed"),
        ("migrate", _S_STABLE, "migrating"),
        ("switch", _S_STABLE, "switching"),
    ])

MACHINES = {m.kind: m for m in (CONTAINER, HB, RESOURCE, ENCAP, SERVICE)}
KINDS = tuple(MACHINES)
RESOURCE_KINDS = tuple(k for k in KINDS if k != "service")   # the machines of resources


class Phases(Record, frozen=True):
    """A machine's trigger sequence for one start or stop: what the executor fires, in order."""

    begin: str
    waypoints: tuple          # fired in order between begin and ok (each as its phase is reached)
    ok: str
    failed: str


# (kind, direction) -> Phases. The container's force_stop is not a waypoint: it is fired only when the
# stop timeout expires, and is followed by wait_down again.
PHASES = {
    ("container", START): Phases("start", ("wait_up", "wait_ping", "wait_operational"), "started", "start_failed"),
    ("container", STOP): Phases("stop", ("wait_down",), "stopped", "stop_failed"),
    ("hb", START): Phases("enable", (), "enabled", "enable_failed"),
    ("hb", STOP): Phases("disable", (), "disabled", "disable_failed"),
    ("resource", START): Phases("start", (), "started", "start_failed"),
    ("resource", STOP): Phases("stop", (), "stopped", "stop_failed"),
    ("encap", START): Phases("start", (), "started", "start_failed"),
    ("encap", STOP): Phases("stop", (), "stopped", "stop_failed"),
    ("service", START): Phases("start", (), "started", "start_failed"),
    ("service", STOP): Phases("stop", (), "stopped", "stop_failed"),
}


# --- lookups (pure) ----------------------------------------------------------------------------
def machine_def(kind: str) -> MachineDef:
    try:
        return MACHINES[kind]
    except KeyError:
        raise ValueError(f"unknown machine kind '{kind}' (kinds: {', '.join(KINDS)})") from None


def states_of(kind: str) -> tuple:
    return machine_def(kind).states


def transitions_of(kind: str) -> list:
    """The kind's rows with `*` expanded: [(trigger, (sources...), dest), ...] in table order."""
    mdef = machine_def(kind)
    return [(t, mdef.states if src == ANY else tuple(src), dst) for t, src, dst in mdef.rows]


def _index():
    """kind -> trigger -> {source: dest}, built once from the tables."""
    index = {}
    for kind in KINDS:
        triggers = index.setdefault(kind, {})
        for trigger, sources, dest in transitions_of(kind):
            for src in sources:
                triggers.setdefault(trigger, {})[src] = dest
    return index


INDEX = _index()


def triggers_of(kind: str) -> tuple:
    machine_def(kind)
    return tuple(INDEX[kind])


def dest_of(kind: str, trigger: str, src: str) -> str | None:
    """Where `trigger` leads from `src`, or None when the table has no such transition.

    Replay uses it to validate a journaled (event, src, dst) without building a machine."""
    machine_def(kind)
    return INDEX[kind].get(trigger, {}).get(src)


# --- what the states mean (pure, read from the tables above) --------------------------------------
def _unique(values):
    return tuple(dict.fromkeys(values))


def _ends(direction):
    """Where a completed start (or stop) leaves a resource: the `ok` destinations, every resource kind."""
    return _unique(dst for kind in RESOURCE_KINDS
                   for dst in INDEX[kind][PHASES[(kind, direction)].ok].values())


UP_STATES = _ends(START)          # ('up', 'ha-enabled'): the resource runs (its HA is on)
DOWN_STATES = _ends(STOP)         # ('down', 'ha-disabled')
# The states a start or a stop usually begins from, and where it leaves a resource.
SOURCE_STATES = {START: DOWN_STATES, STOP: UP_STATES}
DONE_STATES = {START: UP_STATES, STOP: DOWN_STATES}
# The trigger that begins a resource's start or stop, every resource kind: {start: (start, enable), ...}.
BEGINS = {d: _unique(PHASES[(kind, d)].begin for kind in RESOURCE_KINDS) for d in (START, STOP)}
_DIRECTIONS = {**{s: START for m in MACHINES.values() for s in m.starting},
               **{s: STOP for m in MACHINES.values() for s in m.stopping}}


def is_up(state: str) -> bool:
    """Whether a resource machine in `state` believes the resource runs (`up`, `ha-enabled`)."""
    return state in UP_STATES


def is_down(state: str) -> bool:
    return state in DOWN_STATES


def direction_of(state: str) -> str | None:
    """`start` or `stop` for a transient state of a start or a stop (`wait-ping`, `force-stopping`),
    else None (a stable state, `migrating`, `rolling-back`...)."""
    return _DIRECTIONS.get(state)


def leaving(kind: str, state: str) -> tuple:
    """The triggers that take a `kind` machine out of `state` (the recovery rows left out), in table order:
    leaving("service", "rolling-back") -> ('rolled_back', 'rollback_failed')."""
    return _unique(t for t, src, _ in machine_def(kind).rows if src != ANY and state in src)
