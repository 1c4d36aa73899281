"""The running machines: one shared `transitions.Machine` per kind, and the journaling hook.

    m = Model("fs#1", journal=append)        # append(record) writes the journal (write-ahead)
    attach(m, "resource", "down")
    fire(m, "start", reason="operator")      # journals, then m.state == "starting"
    restore(m, "up")                         # replay: no callback, nothing journaled
    detach(m)                                # the action is over: the shared machine forgets it

    with Attached() as models:               # or: an action's models, all detached at its end
        models.attach(Model("ip#1", journal=append), "resource", "up")

Rules (docs/lessons.md §A.1-8):
- One Machine per kind, built lazily from `machines.defs`, `model=None`, `auto_transitions=False`
  (no `to_<state>()` bypass), `send_event=True` (every callback takes one EventData).
- The hook runs in `before_state_change`: it calls `model.journal(record)` before the state
  changes; if the append raises, the exception propagates and the state stays the old one.
- No on_enter/on_exit callbacks: callbacks do no I/O; the executor acts around the triggers.
- Restore uses `set_state(model=...)`: no callback fires, nothing is journaled.
- Machines are owned by one thread (the executor's); no LockedMachine.
- The machines are process-wide, their models are not: whoever attaches models detaches them when its
  action ends (`detach`, `detach_all`, `Attached`), so a process that runs several actions (restart's
  nested executors, a resume, in-process tests) does not keep every model of every action alive.
  transitions keeps a machine's models in a list (membership tests are O(n)): at the few models an
  action attaches that costs nothing (bench/machines.py measures it); a bulk load of thousands of
  models (bench/machines.py `attach_many`) is the benchmark's business, not the engine's.
"""

import logging

from core.lazy import LazyModule, LazySix, importing
from machines.defs import (INDEX, KINDS, PHASES, dest_of, machine_def, states_of,  # noqa: F401
                           transitions_of, triggers_of)

# Before transitions is imported: its DEBUG logging makes each transition ~13x slower.
logging.getLogger("transitions").setLevel(logging.WARNING)

# transitions imports inspect (with ast, dis, tokenize) and six at its top, ~10 ms of every action: it uses
# inspect only when a model has on_enter_<state>/on_exit_<state> methods to bind (ours have none), six only for
# string_types (core/lazy.py)
with importing({"inspect": LazyModule, "six": LazySix}):
    from transitions import Machine, MachineError  # noqa: E402  (after pinning the logger)

__all__ = ["Model", "attach", "detach", "detach_all", "Attached", "restore", "fire", "can", "machine",
           "MachineError", "states_of", "transitions_of", "triggers_of", "dest_of", "PHASES", "KINDS"]


class Model:
    """Something with a state machine: a resource (rid) or the service (rid '').

    `journal(record)` is the write-ahead append the executor wires (it adds node, svc, rid and the
    action id). Do not define attributes named like triggers (start, stop...), `trigger`, or
    on_enter_*/on_exit_* methods: the shared machine binds the triggers onto the model.
    """

    def __init__(self, name, rid=None, journal=None):
        self.name = name
        self.rid = name if rid is None else rid
        self.journal = journal
        self.state = None
        self.machine_kind = None

    def __repr__(self):
        return f"<{type(self).__name__} {self.name or 'service'} {self.machine_kind}:{self.state}>"


def _journal_hook(kind):
    def before_state_change(ev):
        dest = ev.transition.dest
        if dest is None:          # internal transition: no state change, nothing to journal
            return
        if ev.args:
            raise TypeError(f"{kind} trigger '{ev.event.name}': pass details as keywords (reason=..., duration=...)")
        journal = getattr(ev.model, "journal", None)
        if journal is None:
            from core.errors import JournalError

            raise JournalError(f"{kind} transition '{ev.event.name}' of {getattr(ev.model, 'name', ev.model)!r}: "
                               "no journal attached to the model (every transition is journaled first)")
        # Write-ahead: if this raises, transitions propagates it and the model keeps its old state.
        journal({"kind": "transition", "machine": kind, "event": ev.event.name,
                 "src": ev.transition.source, "dst": dest, "payload": dict(ev.kwargs)})
    return before_state_change


_MACHINES = {}


def machine(kind: str) -> Machine:
    """The shared Machine of `kind`, built on first use."""
    m = _MACHINES.get(kind)
    if m is None:
        mdef = machine_def(kind)
        m = Machine(model=None, states=list(mdef.states), initial=mdef.initial,
                    transitions=[{"trigger": t, "source": list(src), "dest": dst}
                                 for t, src, dst in transitions_of(kind)],
                    auto_transitions=False, send_event=True, ignore_invalid_triggers=False,
                    before_state_change=[_journal_hook(kind)], name=kind)
        _MACHINES[kind] = m
    return m


_CHECKED_CLASSES = set()


def _check_model(model, kind):
    cls = type(model)
    if (cls, kind) in _CHECKED_CLASSES:
        return
    # transitions would add a class's on_enter_<state> to the SHARED state, for every model of the kind.
    bad = [n for n in dir(cls) if n.startswith(("on_enter_", "on_exit_"))]
    bad += [t for t in (*triggers_of(kind), "trigger") if hasattr(cls, t)]
    if bad:
        raise TypeError(f"{cls.__name__} cannot join the shared {kind} machine: it defines {', '.join(bad)} "
                        "(triggers are bound by the machine; callbacks must not live on models)")
    _CHECKED_CLASSES.add((cls, kind))


def _initial(kind, initial):
    if initial is None:
        return machine_def(kind).initial
    if initial not in machine_def(kind).states:
        raise ValueError(f"unknown {kind} state '{initial}' (states: {', '.join(states_of(kind))})")
    return initial


def attach(model, kind: str, initial: str | None = None):
    """Bind `model` to the shared machine of `kind`, in `initial` (default the kind's initial state).

    Nothing is journaled and no callback fires: attaching restores a belief, it is not a transition."""
    _check_model(model, kind)
    state = _initial(kind, initial)
    if getattr(model, "machine_kind", None) not in (None, kind):
        raise ValueError(f"{model!r} is already attached to the {model.machine_kind} machine (detach it first)")
    machine(kind).add_model(model, initial=state)
    model.machine_kind = kind
    return model


def detach(model):
    """Unbind `model`: remove it from its machine and delete the bound trigger methods (so a stale
    reference cannot fire transitions on a machine that forgot it). The state attribute stays."""
    kind = getattr(model, "machine_kind", None)
    if kind is None:
        return model
    m = machine(kind)
    if model in m.models:
        m.remove_model(model)
    for name in ("trigger", "may_trigger", *triggers_of(kind),
                 *(f"may_{t}" for t in triggers_of(kind)), *(f"is_{s}" for s in states_of(kind))):
        model.__dict__.pop(name, None)
    model.machine_kind = None
    return model


def detach_all(models):
    """detach() each model (an action's, at its end); the states stay readable. Returns them."""
    models = list(models)
    for model in models:
        detach(model)
    return models


class Attached:
    """The models one action attaches, detached together when it ends:

        with Attached() as models:
            m = models.attach(Model(rid, journal=sink), kind, state)
            ...                                   # fire, restore
        # every model detached here, even on an exception; m.state still says where it ended
    """

    def __init__(self):
        self.models = []

    def attach(self, model, kind: str, initial: str | None = None):
        attach(model, kind, initial)
        self.models.append(model)
        return model

    def close(self):
        detach_all(reversed(self.models))
        self.models = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def restore(model, state: str):
    """Set the state from the journal: no callback, nothing journaled."""
    kind = model.machine_kind
    if kind is None:
        raise ValueError(f"{model!r} is not attached to a machine")
    machine(kind).set_state(_initial(kind, state), model=model)
    return model


def fire(model, trigger: str, **payload):
    """Fire `trigger` on `model`; the keywords go to the journal record's payload.

    Raises MachineError when the table has no such transition from the model's state."""
    kind = getattr(model, "machine_kind", None)
    if kind is None:
        raise MachineError(f"cannot fire '{trigger}': {model!r} is not attached to a machine")
    if trigger not in INDEX[kind]:
        raise MachineError(f"no trigger '{trigger}' in the {kind} machine (triggers: {', '.join(INDEX[kind])})")
    return getattr(model, trigger)(**payload)


def can(model, trigger: str) -> bool:
    """Whether `trigger` is allowed from the model's state, read from the tables (no may_*: it runs callbacks)."""
    kind = getattr(model, "machine_kind", None)
    return kind is not None and dest_of(kind, trigger, model.state) is not None
