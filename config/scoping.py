"""Keyword scoping: which written option a node reads for a keyword (docs/agent-reference.md §1.6). Pure functions.

A scopable keyword may be written several times, `key@scope`. On node N the first match wins:
    key@N > key@nodes > key@drpnodes > key@encapnodes > key@flex_primary > key@drp_flex_primary > key
(N in the set for the set scopes, N equal to the name for the primaries). Nothing matching → the keyword
default. Unscopable keywords are read raw (plain `key` only).
"""

from core.record import Record


class NodeSets(Record, frozen=True):
    """What scoping needs to know about the node reading the file. Sets are tuples (config order)."""

    nodename: str
    nodes: tuple = ()
    drpnodes: tuple = ()
    encapnodes: tuple = ()
    flex_primary: str = ""
    drp_flex_primary: str = ""


# The precedence, as data: (scope suffix, does it apply to this node?). None = the node's own name.
PRECEDENCE = (
    (None, lambda ns: True),
    ("nodes", lambda ns: ns.nodename in ns.nodes),
    ("drpnodes", lambda ns: ns.nodename in ns.drpnodes),
    ("encapnodes", lambda ns: ns.nodename in ns.encapnodes),
    ("flex_primary", lambda ns: bool(ns.flex_primary) and ns.nodename == ns.flex_primary),
    ("drp_flex_primary", lambda ns: bool(ns.drp_flex_primary) and ns.nodename == ns.drp_flex_primary),
)

SET_SCOPES = tuple(s for s, _ in PRECEDENCE if s)


def split_key(option: str) -> tuple[str, str | None]:
    """'ipname@node1' -> ('ipname', 'node1'); 'ipname' -> ('ipname', None); 'a@' -> ('a', '')."""
    key, sep, scope = option.partition("@")
    return key, (scope if sep else None)


def candidates(key: str, ns: NodeSets, scopable: bool = True) -> list[str]:
    """The option names to try for `key` on this node, best first."""
    if not scopable:
        return [key]
    names = []
    for scope, applies in PRECEDENCE:
        if applies(ns):
            names.append(f"{key}@{scope or ns.nodename}")
    names.append(key)
    return names


def pick(options, key: str, ns: NodeSets, scopable: bool = True) -> str | None:
    """The name of the option this node reads for `key` among `options` (any container of option names),
    or None when none applies (the caller falls back to the keyword default)."""
    for name in candidates(key, ns, scopable):
        if name in options:
            return name
    return None
