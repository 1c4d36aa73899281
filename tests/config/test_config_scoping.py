"""Scoping precedence (docs/agent-reference.md §1.6): the pure function, table-driven, and through a loaded env file."""

import pytest

from config.scoping import NodeSets, candidates, pick, split_key

NS = NodeSets("n1", nodes=("n1", "n2"), drpnodes=("n1", "d1"), encapnodes=("n1",), flex_primary="n1",
              drp_flex_primary="n1")
ALL = ["k@n1", "k@nodes", "k@drpnodes", "k@encapnodes", "k@flex_primary", "k@drp_flex_primary", "k"]


@pytest.mark.parametrize("present, expected", [
    (ALL, "k@n1"),
    (ALL[1:], "k@nodes"),
    (ALL[2:], "k@drpnodes"),
    (ALL[3:], "k@encapnodes"),
    (ALL[4:], "k@flex_primary"),
    (ALL[5:], "k@drp_flex_primary"),
    (ALL[6:], "k"),
    ([], None),
    (["k@n2", "k@other"], None),          # other nodes' values never apply
    (["k@n2", "k"], "k"),
])
def test_precedence_when_node_is_in_every_set(present, expected):
    assert pick(set(present), "k", NS) == expected


@pytest.mark.parametrize("ns, expected", [
    (NodeSets("n2", nodes=("n1", "n2"), drpnodes=("d1",)), "k@nodes"),
    (NodeSets("d1", nodes=("n1", "n2"), drpnodes=("d1",)), "k@drpnodes"),
    (NodeSets("g1", nodes=("n1",), encapnodes=("g1",)), "k@encapnodes"),
    (NodeSets("n1", nodes=(), flex_primary="n1"), "k@flex_primary"),
    (NodeSets("d1", drp_flex_primary="d1"), "k@drp_flex_primary"),
    (NodeSets("x9", nodes=("n1",), drpnodes=("d1",), flex_primary="n1", drp_flex_primary="d1"), "k"),
])
def test_each_scope_applies_only_to_its_nodes(ns, expected):
    present = {"k@nodes", "k@drpnodes", "k@encapnodes", "k@flex_primary", "k@drp_flex_primary", "k"}
    # remove the scopes ranking above the one expected, when the node belongs to them
    for name in candidates("k", ns):
        if name == expected:
            break
        present.discard(name)
    assert pick(present, "k", ns) == expected


def test_unscopable_reads_the_plain_key_only():
    assert pick({"k@n1", "k"}, "k", NS, scopable=False) == "k"
    assert pick({"k@n1"}, "k", NS, scopable=False) is None


def test_empty_primaries_never_match():
    ns = NodeSets("n1")
    assert candidates("k", ns) == ["k@n1", "k"]


@pytest.mark.parametrize("raw, expected", [
    ("ipname", ("ipname", None)), ("ipname@n1", ("ipname", "n1")), ("ipname@", ("ipname", "")),
    ("ipname@n1.example.com", ("ipname", "n1.example.com")),
])
def test_split_key(raw, expected):
    assert split_key(raw) == expected


ENV = """\
[DEFAULT]
nodes = n1 n2
drpnodes = d1
flex_primary = n2
mode = hosted
mode@g1 = hosted
encapnodes = g1

[ip#1]
tags = encap
ipdev = eth0
ipname = plain
ipname@nodes = on-nodes
ipname@drpnodes = on-drp
ipname@encapnodes = in-guest
ipname@flex_primary = on-primary
ipname@n1 = mine
"""


@pytest.mark.parametrize("nodename, expected", [
    ("n1", "mine"), ("n2", "on-nodes"), ("d1", "on-drp"), ("g1", "in-guest"), ("x", "plain"),
])
def test_scoping_through_the_loader(node, nodename, expected):
    from config.build import build

    spec, problems = build(node, "svc", ENV, "svc.env", nodename=nodename)
    assert [p for p in problems if p.fatal] == []
    assert spec.resource("ip#1").conf["ipname"] == expected


def test_node_sets_bootstrap_scoped(node):
    """nodes/drpnodes are themselves scoped: a guest (encapnodes) sees its own node set."""
    from config.build import build

    text = "[DEFAULT]\nencapnodes = g1\nnodes = n1 n2\nnodes@encapnodes = g1\ndrpnode = d1\ndrpnodes = d2\n"
    spec, _ = build(node, "svc", text, "svc.env", nodename="g1")
    assert spec.default["nodes"] == ["g1"]
    assert spec.default["encap"] is True
    assert spec.default["drpnodes"] == ["d2", "d1"]
    spec, _ = build(node, "svc", text, "svc.env", nodename="n2")
    assert spec.default["nodes"] == ["n1", "n2"]
    assert spec.default["flex_primary"] == "n1" and spec.default["drp_flex_primary"] == "d2"
    assert spec.default["encap"] is False
