"""The seed's three encapsulation topologies (docs/encapsulation-and-cluster.md §1.1, the encap pages):
one env file, read at each level through @encapnodes. The guest-level `nodes` always comes from
`nodes@encapnodes`; the hosts keep theirs."""

import pytest

from config.build import build
from engine import encap

COMMON = """
[container#1]
type = kvm
name = vm1

[ip#1]
tags = encap
ipname = svc-addr
ipdev = eth0

[app#1]
tags = encap
script = /bin/true
"""

TOPOLOGIES = {
    # one guest that fails over with its VM between the two hypervisors
    "failover single node": "[DEFAULT]\nnodes = hv1 hv2\nencapnodes = vm1\nnodes@encapnodes = vm1\n",
    # hypervisors fail over; each runs its guest, and the guests form a farm
    "farmed-failover": "[DEFAULT]\nnodes = hv1 hv2\nencapnodes = vm1 vm2\nnodes@encapnodes = vm1 vm2\n"
                       "cluster_type@encapnodes = flex\n",
    # the hypervisors and the guests are both farms
    "farmed-farmed": "[DEFAULT]\nnodes = hv1 hv2\ncluster_type = flex\nencapnodes = vm1 vm2\n"
                     "nodes@encapnodes = vm1 vm2\n",
}

# topology -> (host nodes, host cluster_type, guest nodes, guest cluster_type, guest resources)
EXPECTED = {
    "failover single node": (["hv1", "hv2"], "failover", ["vm1"], "failover", ["ip#1", "app#1"]),
    "farmed-failover": (["hv1", "hv2"], "failover", ["vm1", "vm2"], "flex", ["ip#1", "app#1", "sync#i0"]),
    "farmed-farmed": (["hv1", "hv2"], "flex", ["vm1", "vm2"], "flex", ["ip#1", "app#1", "sync#i0"]),
}


def spec_at(node, text, nodename):
    spec, problems = build(node, "svc", text, "svc.env", nodename=nodename, environ={})
    assert [str(p) for p in problems if p.fatal] == []
    return spec


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_each_topology_reads_at_both_levels(node, topology):
    text = TOPOLOGIES[topology] + COMMON
    host_nodes, host_type, guest_nodes, guest_type, guest_rids = EXPECTED[topology]
    host = spec_at(node, text, "hv1")
    assert (host.default["nodes"], host.default["cluster_type"], host.guest) == (host_nodes, host_type, False)
    # the host acts on its container and its config replication; the guest engine on the encap resources
    assert [r.rid for r in host.resources if not r.in_guest] == ["container#1", "sync#i0"]
    assert [r.rid for r in encap.containers(host)] == ["container#1"]
    assert [r.rid for r in host.guest_resources("container#1")] == ["ip#1", "app#1"]
    for guest_name in guest_nodes:
        guest = spec_at(node, text, guest_name)
        assert (guest.default["nodes"], guest.default["cluster_type"], guest.guest) == \
            (guest_nodes, guest_type, True)
        # a farm of guests replicates its config between them (sync#i0); a single guest has no peer
        assert [r.rid for r in guest.resources] == guest_rids
        assert encap.containers(guest) == []
