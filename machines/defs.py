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
"""

from core.record import Record

ANY = "*"   # in a row's sources: every state of the machine (the recovery rows)


class MachineDef(Record, frozen=True):
    kind: str
    doc: str                  # one line: what the machine models
    initial: str
    stable: tuple             # states an action may end in (recover_<state> exists for each)
    transient: tuple          # states that only exist while an action runs
    rows: tuple               # (trigger, sources tuple or ANY, dest), in display order

    @property
    def states(self) -> tuple:
        return self.stable + self.transient


def _recover_rows(stable):
    return tuple((f"recover_{s.replace('-', '_')}", ANY, s) for s in stable)


def _define(kind, doc, initial, stable, transient, rows):
    return MachineDef(kind, doc, initial, tuple(stable), tuple(transient), tuple(rows) + _recover_rows(stable))


# --- container: a VM or container of any technology ------------------------------------------
_C_STABLE = ("down", "up", "start-failed", "stop-failed")
CONTAINER = _define(
    "container",
    "a VM or container: boot, then wait for up status, ping and operational (ssh pwd) before up",
    "down", _C_STABLE,
    ("starting", "wait-up", "wait-ping", "wait-operational", "stopping", "wait-down", "force-stopping",
     "migrating"),
    [
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
    "ha-disabled", _H_STABLE, ("ha-enabling", "ha-disabling"),
    [
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
    "down", _R_STABLE, ("starting", "stopping"),
    [
        ("start", _R_STABLE, "starting"),
        ("started", ("starting",), "up"),
        ("start_failed", ("starting",), "start-failed"),
        ("stop", _R_STABLE, "stopping"),
        ("stopped", ("stopping",), "down"),
        ("stop_failed", ("stopping",), "stop-failed"),
        ("observed_up", ("down", "start-failed", "stop-failed"), "up"),
        ("observed_down", ("up", "start-failed", "stop-failed"), "down"),
    ])

# --- service: the action in progress and the outcome of the last one ----------------------------
# `frozen` is a journaled flag, not a state: a frozen service keeps its state and refuses actions.
_S_STABLE = ("idle", "started", "stopped", "start-failed", "stop-failed")
SERVICE = _define(
    "service",
    "a service: which action runs, and how the last one ended (frozen is a flag, not a state)",
    "idle", _S_STABLE, ("starting", "stopping", "rolling-back", "migrating", "switching"),
    [
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

MACHINES = {m.kind: m for m in (CONTAINER, HB, RESOURCE, SERVICE)}
KINDS = tuple(MACHINES)

# Resource family (domain.service.FAMILIES) -> machine kind.
FAMILY_KIND = {
    "container": "container",
    "hb": "hb",
    "ip": "resource",
    "disk": "resource",
    "fs": "resource",
    "share": "resource",
    "app": "resource",
    "sync": "resource",
}


class Step(Record, frozen=True):
    """The triggers the executor fires for one start or stop step, in order."""

    begin: str
    waypoints: tuple          # fired in order between begin and ok (each as its phase is reached)
    ok: str
    failed: str


# (kind, direction) -> Step. The container's force_stop is not a waypoint: it is fired only when the
# stop timeout expires, and is followed by wait_down again.
STEPS = {
    ("container", "start"): Step("start", ("wait_up", "wait_ping", "wait_operational"), "started", "start_failed"),
    ("container", "stop"): Step("stop", ("wait_down",), "stopped", "stop_failed"),
    ("hb", "start"): Step("enable", (), "enabled", "enable_failed"),
    ("hb", "stop"): Step("disable", (), "disabled", "disable_failed"),
    ("resource", "start"): Step("start", (), "started", "start_failed"),
    ("resource", "stop"): Step("stop", (), "stopped", "stop_failed"),
    ("service", "start"): Step("start", (), "started", "start_failed"),
    ("service", "stop"): Step("stop", (), "stopped", "stop_failed"),
}


# --- lookups (pure) ----------------------------------------------------------------------------
def machine_def(kind: str) -> MachineDef:
    try:
        return MACHINES[kind]
    except KeyError:
        raise ValueError(f"unknown machine kind '{kind}' (kinds: {', '.join(KINDS)})") from None


def kind_of(family: str) -> str:
    """The machine kind of a resource family (`fs` -> `resource`)."""
    try:
        return FAMILY_KIND[family]
    except KeyError:
        raise ValueError(f"no state machine for resource family '{family}' "
                         f"(families: {', '.join(FAMILY_KIND)})") from None


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
