"""ip resources of a VM service (issue 5, the VM cookbook): the guest plumbs the address, the host
only checks -- against a simulated kvm VM (the virsh simulator) whose guest answers the ssh
simulator's `ip -o addr show dev <ipdev>` with the VM's address.

Unit tests run the driver in this process with a real Runner. Their pings are real: a guest address
in 127.0.0.0/8 answers (the host's loopback), 192.0.2.0/24 (TEST-NET-1) never does. The last test
runs a whole service through the CLI in a network namespace (tests/helpers/container_scenarios.py).
"""

import pytest

from drivers.base import DriverError
from domain.service import ResourceSpec, ServiceSpec
from tests.helpers.container_scenarios import SVC, Tech, write_service
from tests.helpers.drivers import make_driver
from tests.helpers.sim import sim_node_conf

GUEST = "127.0.0.5"        # the VM's address: in the guest, and answering ping (loopback)
ELSEWHERE = "127.0.0.6"    # answers ping, but is not in the guest
NOWHERE = "192.0.2.10"     # never answers


def kvm_xml(sim, name):
    path = sim.root / "etc" / "libvirt" / "qemu" / f"{name}.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<domain type='kvm'><name>{name}</name><memory>1048576</memory><devices/></domain>\n")


def spec_of(*resources):
    return ServiceSpec(name="svc1", nodename="node1", path=None, text="", digest="", default={"nodes": ["node1"]},
                       resources=list(resources))


def container(rid="container#1", type="kvm", name="vm1", encap=False):
    # a host's view of an encap container (a nested guest's): the guest engine's, not this one's
    return ResourceSpec(rid=rid, family="container", type=type, conf={"name": name}, encap=encap, in_guest=encap)


def ip_driver(node, ipname, spec=None, tags=(), ipdev="eth0"):
    res_spec = spec or spec_of(container())
    return make_driver(node, "ip", "", {"ipname": ipname, "ipdev": ipdev}, rid="ip#1", tags=tags, spec=res_spec)


@pytest.fixture
def vm(node, sim):
    """A kvm VM `vm1` running on node1 (the node under test), its guest at GUEST."""
    sim_node_conf(node.root, sim)
    kvm_xml(sim, "vm1")
    sim.vmsim("define", "kvm", "vm1", "--running", "--set", f"hostname={GUEST}")
    return sim


def commands(events):
    return [" ".join(e["payload"]["argv"]) for e in events]


# --- which ips are in guest mode -----------------------------------------------------------------------
def test_guest_mode_only_with_a_container_that_leaves_ips_to_the_guest(node):
    from drivers.container import Container

    drv, _, _ = ip_driver(node, GUEST)
    assert isinstance(drv.container, Container) and drv.container.name == "vm1"
    assert ip_driver(node, GUEST, spec=spec_of())[0].container is None            # no container: host
    assert ip_driver(node, GUEST, spec=spec_of(container(type="zone")))[0].container is None  # zone plumbs
    assert ip_driver(node, GUEST, spec=spec_of(container(encap=True)))[0].container is None   # a guest's own
    no_spec, _, _ = make_driver(node, "ip", "", {"ipname": GUEST, "ipdev": "eth0"})
    assert no_spec.container is None


def test_guest_mode_picks_the_container_named_in_the_tags(node):
    spec = spec_of(container("container#1", name="vm1"), container("container#2", name="vm2"))
    assert ip_driver(node, GUEST, spec=spec)[0].container.name == "vm1"
    assert ip_driver(node, GUEST, spec=spec, tags=("container#2",))[0].container.name == "vm2"


# --- status ------------------------------------------------------------------------------------------------
def test_guest_ip_status_up(node, vm):
    drv, log, events = ip_driver(node, GUEST)
    assert drv.status() == ("up", [])
    assert events == [] and log.lines == []              # status probes are quiet


def test_guest_ip_status_answers_ping_but_not_in_the_guest(node, vm):
    drv, _, _ = ip_driver(node, ELSEWHERE)
    assert drv.status() == ("warn", [f"{ELSEWHERE} answers ping but is not on eth0 in container vm1"])


def test_guest_ip_status_in_the_guest_but_no_ping(node, sim):
    sim_node_conf(node.root, sim)
    sim.vmsim("define", "kvm", "vm1", "--running", "--set", f"hostname={NOWHERE}")
    drv, _, _ = ip_driver(node, NOWHERE)
    assert drv.status() == ("warn", [f"{NOWHERE} is on eth0 in container vm1 but does not answer ping"])
    drv, _, _ = ip_driver(node, NOWHERE, tags=("nonrouted",))       # not routed: the guest's word only
    assert drv.status() == ("up", [])


def test_guest_ip_status_container_down(node, sim):
    sim_node_conf(node.root, sim)
    sim.vmsim("define", "kvm", "vm1", "--set", f"hostname={GUEST}")
    drv, _, _ = ip_driver(node, GUEST)
    assert drv.status() == ("down", [])
    sim.vmsim("define", "kvm", "vm1", "--running", "--node", "node2", "--set", f"hostname={GUEST}")
    assert drv.status() == ("down", [])                  # runs on node2: not this node's to report


def test_guest_ip_status_guest_unreachable(node, vm):
    vm.vmsim("fail", "kvm", "vm1", "ssh=refuse")
    drv, _, _ = ip_driver(node, GUEST)
    assert drv.status() == ("warn", [f"can not check {GUEST} on eth0 in container vm1: rc 255: ssh: connect to "
                                     f"host vm1 port 22: Connection refused"])


# --- start / stop: checks only ---------------------------------------------------------------------------
def test_guest_ip_start_checks_the_address_in_the_guest(node, vm):
    drv, log, events = ip_driver(node, GUEST)
    drv.start()
    ssh = node.setting("paths", "rsh")
    assert commands(events) == [f"{ssh} -- vm1 ip -o addr show dev eth0"]
    assert log.messages("INFO")[0] == f"{ssh} -- vm1 ip -o addr show dev eth0"
    assert log.messages("INFO")[-1] == f"{GUEST} is up on eth0 in container vm1"
    assert drv.can_rollback is False                      # nothing changed: nothing to roll back


def test_guest_ip_start_fails_when_the_guest_lacks_the_address(node, vm):
    drv, _, _ = ip_driver(node, ELSEWHERE)
    with pytest.raises(DriverError) as exc:
        drv.start()
    assert str(exc.value) == (f"{ELSEWHERE} is not on eth0 in container vm1: the guest plumbs its addresses, "
                              f"check its network configuration")


def test_guest_ip_start_with_the_container_down_only_probes_for_conflicts(node, sim):
    sim_node_conf(node.root, sim)
    sim.vmsim("define", "kvm", "vm1", "--set", f"hostname={NOWHERE}")
    drv, log, events = ip_driver(node, NOWHERE)
    drv.start()
    assert log.messages() == [f"checking {NOWHERE} availability",
                              f"{NOWHERE} on eth0 is plumbed by the guest of container vm1: nothing to do on "
                              f"the host"]
    assert events == [] and drv.can_rollback is False


def test_guest_ip_start_refuses_an_address_alive_elsewhere(node, sim):
    sim_node_conf(node.root, sim)
    sim.vmsim("define", "kvm", "vm1", "--set", f"hostname={GUEST}")
    drv, _, events = ip_driver(node, ELSEWHERE)
    with pytest.raises(DriverError, match=f"^{ELSEWHERE} is already up on another host$"):
        drv.start()
    assert events == []


def test_guest_ip_stop_is_a_noop(node, vm):
    drv, log, events = ip_driver(node, GUEST)
    drv.stop()
    assert log.messages() == [f"{GUEST} on eth0 is left to the guest of container vm1: nothing to stop on the host"]
    assert events == []
    assert vm.show("kvm", "vm1")["state"] == "running"


# --- a whole VM service through the CLI ------------------------------------------------------------------
def define_kvm(pool, name, running_on=None):
    kvm_xml(pool.sim, name)
    args = ["--running", "--node", running_on] if running_on else []
    pool.sim.vmsim("define", "kvm", name, *args)


def test_guest_ip_of_a_kvm_service_through_the_cli(vm_pool):
    write_service(vm_pool, Tech("kvm", define=define_kvm), f"\n[ip#1]\nipname = {vm_pool.vmname}\nipdev = eth0\n")
    define_kvm(vm_pool, vm_pool.vmname)
    res = vm_pool.osvc("-s", SVC, "start")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (f"{vm_pool.addr} on eth0 is plumbed by the guest of container {vm_pool.vmname}: nothing to do on "
            f"the host") in res.stdout
    status = vm_pool.osvc("-s", SVC, "print", "status", "--refresh").stdout
    ip_line = next(line for line in status.splitlines() if "ip#1" in line)
    assert ip_line.split()[-2:] == ["up", f"{vm_pool.vmname}@eth0"]       # pings, and on eth0 in the guest
    res = vm_pool.osvc("-s", SVC, "stop")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"is left to the guest of container {vm_pool.vmname}: nothing to stop on the host" in res.stdout
    status = vm_pool.osvc("-s", SVC, "print", "status", "--refresh").stdout
    assert next(line for line in status.splitlines() if "ip#1" in line).split()[-2] == "down"
