"""OS-level containers: Solaris zones, HP-UX SRP, FreeBSD jails, OpenVZ (docs/agent-reference.md §6.1).

Unit tests drive each driver (real Runner, make_driver) against its CLI simulator on PATH and
assert the exact command lines, log lines and the simulated hosts' state; the shared scenarios
(tests/helpers/container_scenarios.py) run each technology through the real CLI in a netns.
"""


import pytest

from drivers.base import DriverError, StopTimeout
from tests.helpers.container_scenarios import SCENARIOS, Tech
from tests.helpers.drivers import make_driver
from tests.helpers.sim import FakeClock, sim_node_conf

ADDR = "127.0.0.1"     # `hostname` of unit-test containers: resolvable, no netns needed


def commands(events):
    """The command lines the driver ran (logged and journaled ones; probes are quiet)."""
    return [" ".join(e["payload"]["argv"]) for e in events]


@pytest.fixture
def conf_node(node, sim):
    sim_node_conf(node.root, sim)
    return node


@pytest.fixture
def clock_node(node, sim):
    """For FakeClock tests: 1 s polls, so a timeout of a few fake seconds is a few real probes."""
    sim_node_conf(node.root, sim, poll=1.0)
    return node


def driver(node, type, conf, clock=None, **kw):
    timing = {"clock": clock, "sleep": clock.sleep} if clock else {}
    return make_driver(node, "container", type, {"hostname": ADDR, **conf}, **timing, **kw)


def boot_through(drv):
    """The executor's start sequence, phase by phase."""
    drv.start()
    drv.wait_up()
    drv.wait_ping()
    drv.wait_operational()


def stop_through(drv):
    """The executor's stop sequence: a StopTimeout in wait_down -> force_stop, then wait again."""
    drv.stop()
    try:
        drv.wait_down()
    except StopTimeout:
        drv.force_stop()
        drv.wait_down()


# =====================================================================================================
# zone
# =====================================================================================================
DETACHED = ("--node", "nowhere")   # a zone last attached on no node of the test: `configured` on each


def zone_state(sim, name, node="node1"):
    res = sim.cli("zoneadm", "-z", name, "list", "-p", node=node)
    return res.stdout.strip().split(":")[2] if res.returncode == 0 else None


def test_zone_list_line_parsed_by_field():
    from drivers.container_zone import parse_list

    text = "12:z1:running:/zones/z1:3f0e-11:native:shared\n"
    assert parse_list(text, "z1") == {"id": "12", "name": "z1", "state": "running", "path": "/zones/z1",
                                      "uuid": "3f0e-11", "brand": "native", "iptype": "shared"}
    assert parse_list("12:z1:running:/zones/z1:u:solaris:excl:R:no\n", "z1")["state"] == "running"
    assert parse_list(text, "z2") is None
    assert parse_list("zoneadm: z1: No such zone configured\n", "z1") is None


def test_zone_start_attaches_readies_boots_and_waits_for_multi_user(sim, conf_node):
    sim.vmsim("define", "zone", "z1", *DETACHED)
    drv, log, events = driver(conf_node, "zone", {"name": "z1"})
    assert zone_state(sim, "z1") == "configured"
    boot_through(drv)
    assert commands(events) == ["zoneadm -z z1 attach", "zoneadm -z z1 ready", "zoneadm -z z1 boot"]
    assert log.messages("INFO") == [
        "zoneadm -z z1 attach", "output:\nAttaching zone z1 ...", "zoneadm -z z1 ready", "zoneadm -z z1 boot",
        "wait for container up status", "wait for container operational",
        "wait for smf state online on svc:/milestone/multi-user:default"]
    assert zone_state(sim, "z1") == "running"
    assert drv.can_rollback and drv.status() == ("up", [])
    assert sim.cli("zlogin", "-S", "z1", "svcs", "-H", "-o", "state",
                   "svc:/milestone/multi-user:default").stdout == "online\n"


def test_zone_attach_retried_with_force(sim, conf_node):
    sim.vmsim("define", "zone", "z1", *DETACHED)
    sim.vmsim("fail", "zone", "z1", "attach=fail")
    drv, log, events = driver(conf_node, "zone", {"name": "z1"})
    drv.start()
    assert commands(events)[:3] == ["zoneadm -z z1 attach", "zoneadm -z z1 attach -F", "zoneadm -z z1 ready"]
    assert [e["payload"]["rc"] for e in events[:2]] == [1, 0]
    assert zone_state(sim, "z1") in ("ready", "running")


def test_zone_installed_here_is_not_attached_again(sim, conf_node):
    sim.vmsim("define", "zone", "z1", "--node", "node1")      # attached on node1: installed
    drv, log, events = driver(conf_node, "zone", {"name": "z1"})
    drv.start()
    assert "zone container z1 already installed" in log.messages("INFO")
    assert commands(events) == ["zoneadm -z z1 ready", "zoneadm -z z1 boot"]


def test_zone_stop_exports_config_halts_through_init_and_detaches(sim, conf_node):
    sim.vmsim("define", "zone", "z1", "--running", "--node", "node1", "--set", "zonepath=/pool/zones/z1")
    drv, log, events = driver(conf_node, "zone", {"name": "z1"})
    stop_through(drv)
    cfg = conf_node.root / "var" / "svc1" / "zonecfg" / "z1.cfg"
    assert commands(events) == [f"zonecfg -z z1 export -f {cfg}", "zlogin z1 /sbin/init 0",
                                "zoneadm -z z1 detach"]
    assert "set zonepath=/pool/zones/z1\n" in cfg.read_text()
    assert drv.files_to_sync() == [str(cfg)]
    assert "wait for container down status" in log.messages("INFO")
    assert zone_state(sim, "z1") == "configured"
    assert sim.show("zone", "z1")["state"] == "off"
    assert drv.status() == ("down", [])


def test_zone_stop_timeout_halts_then_detaches(sim, clock_node):
    sim.vmsim("define", "zone", "z1", "--running", "--node", "node1")
    sim.vmsim("fail", "zone", "z1", "stop=hang")                # init 0 never finishes
    clock = FakeClock()
    drv, log, events = driver(clock_node, "zone", {"name": "z1", "stop_timeout": 3}, clock=clock)
    stop_through(drv)
    assert commands(events)[1:] == ["zlogin z1 /sbin/init 0", "zoneadm -z z1 halt", "zoneadm -z z1 detach"]
    assert "Waited too long for shutdown" in log.messages("WARNING")
    assert zone_state(sim, "z1") == "configured"


def test_zone_refusing_init_is_halted_at_once(sim, conf_node):
    sim.vmsim("define", "zone", "z1", "--running", "--node", "node1")
    sim.vmsim("fail", "zone", "z1", "stop=fail")
    drv, log, events = driver(conf_node, "zone", {"name": "z1"})
    stop_through(drv)
    assert commands(events)[1:] == ["zlogin z1 /sbin/init 0", "zoneadm -z z1 halt", "zoneadm -z z1 detach"]
    assert "zone z1 refused init 0: halt it" in log.messages("WARNING")


def test_zone_delete_on_stop_then_start_from_the_export(sim, conf_node):
    """delete_on_stop removes the zone's configuration; the next start configures it from the export."""
    sim.vmsim("define", "zone", "z1", "--running", "--node", "node1", "--set", "zonepath=/pool/zones/z1")
    drv, log, events = driver(conf_node, "zone", {"name": "z1", "delete_on_stop": True})
    stop_through(drv)
    cfg = conf_node.root / "var" / "svc1" / "zonecfg" / "z1.cfg"
    assert commands(events)[-1] == "zonecfg -z z1 delete -F"
    assert zone_state(sim, "z1") is None
    assert drv.status() == ("down", [])
    drv, log, events = driver(conf_node, "zone", {"name": "z1", "delete_on_stop": True})
    drv.start()
    assert commands(events) == [f"zonecfg -z z1 -f {cfg}", "zoneadm -z z1 attach", "zoneadm -z z1 ready",
                                "zoneadm -z z1 boot"]
    assert sim.cli("zonecfg", "-z", "z1", "info", "zonepath").stdout == "zonepath: /pool/zones/z1\n"


def test_zone_unknown_here_without_export_says_what_to_do(sim, conf_node):
    sim.vmsim("define", "zone", "z1", *DETACHED)
    sim.cli("zonecfg", "-z", "z1", "delete", "-F", node="node1", check=True)
    drv, log, events = driver(conf_node, "zone", {"name": "z1"})
    with pytest.raises(DriverError, match=r"zone z1 is not configured on this node .*zonecfg/z1.cfg does "
                                          r"not exist: stop the service where it runs"):
        drv.start()
    assert events == [] and not drv.can_rollback


def test_zone_boot_failure_leaves_rollback_to_detach(sim, conf_node):
    sim.vmsim("define", "zone", "z1", *DETACHED)
    sim.vmsim("fail", "zone", "z1", "start=fail")
    drv, log, events = driver(conf_node, "zone", {"name": "z1"})
    with pytest.raises(DriverError, match="zoneadm -z z1 boot failed .rc 1.: zoneadm: zone 'z1': call to "
                                          "zoneadmd failed"):
        drv.start()
    assert drv.can_rollback               # attached by this start: the rollback must detach it
    stop_through(drv)
    assert commands(events)[-2:] == ["zoneadm -z z1 halt", "zoneadm -z z1 detach"]
    assert zone_state(sim, "z1") == "configured"


def test_zone_hung_boot_is_halted_and_detached_by_the_rollback(sim, clock_node):
    sim.vmsim("define", "zone", "z1", *DETACHED)
    sim.vmsim("fail", "zone", "z1", "start=hang")                # stays `ready`, never `running`
    drv, log, events = driver(clock_node, "zone", {"name": "z1", "start_timeout": 3}, clock=FakeClock())
    drv.start()
    with pytest.raises(DriverError, match="Waited too long for startup"):
        drv.wait_up()
    assert zone_state(sim, "z1") == "ready" and drv.can_rollback
    stop_through(drv)
    assert commands(events)[3:] == [f"zonecfg -z z1 export -f {drv.cfg_path}", "zoneadm -z z1 halt",
                                    "zoneadm -z z1 detach"]
    assert zone_state(sim, "z1") == "configured"
    assert sim.show("zone", "z1")["state"] == "off"


def test_zone_operational_through_zlogin_and_milestone(sim, clock_node):
    sim.vmsim("define", "zone", "z1", "--running", "--node", "node1")
    sim.vmsim("fail", "zone", "z1", "milestone=hang")
    clock = FakeClock()
    drv, log, events = driver(clock_node, "zone", {"name": "z1", "start_timeout": 10}, clock=clock)
    assert drv.runmethod() == ["zlogin", "-S", "z1"]
    assert drv.operational()
    with pytest.raises(DriverError, match="Waited too long for startup"):
        drv.wait_operational()
    assert log.messages("INFO")[-1] == "wait for smf state online on svc:/milestone/multi-user:default"
    sim.vmsim("fail", "zone", "z1", "ssh=refuse")
    assert not drv.operational()


def test_zone_plumbs_its_ips_and_has_no_ping_phase(conf_node):
    from drivers.container import Container
    from drivers.container_zone import Zone

    assert Zone.plumbs_ips and not Container.plumbs_ips
    assert not Zone.pings


def test_zone_running_on_peer_is_configured_here(sim, conf_node):
    sim.vmsim("define", "zone", "z1", "--running", "--node", "node2")
    assert zone_state(sim, "z1", node="node2") == "running"
    assert zone_state(sim, "z1", node="node1") == "configured"
    res = sim.cli("zlogin", "-S", "z1", "pwd", node="node1")
    assert (res.returncode, res.stderr) == (1, "zlogin: login allowed only to running zones (z1 is "
                                               "'configured').\n")


# =====================================================================================================
# srp
# =====================================================================================================
def test_srp_status_second_line_parsed():
    from drivers.container_srp import parse_list, parse_status

    text = ("NAME         TYPE      STATE       SUBTYPE    ROOTPATH\n"
            "iisdevs1     system    maintenance private    /var/hpsrp/iisdevs1\n")
    assert parse_status(text, "iisdevs1") == {"name": "iisdevs1", "type": "system", "state": "maintenance",
                                              "subtype": "private", "rootpath": "/var/hpsrp/iisdevs1"}
    assert parse_status(text, "other") is None
    assert parse_status(text.splitlines()[0], "iisdevs1") is None
    listing = "Name: a  Template: system Service: init ID: 1\n----\n\nautostart=1\nuser=root\n"
    assert parse_list(listing) == {"init.autostart": "1", "init.user": "root"}


def test_srp_start_stop_sequence(sim, conf_node):
    sim.vmsim("define", "srp", "s1")
    drv, log, events = driver(conf_node, "srp", {"name": "s1"})
    assert drv.status() == ("down", [])
    boot_through(drv)
    assert commands(events) == ["srp -start s1"]
    assert log.messages("INFO") == ["srp -start s1", "output:\nStarting SRP 's1' ...",
                                    "wait for container up status", "wait for container operational"]
    assert drv.status() == ("up", [])
    assert drv.runmethod() == ["srp_su", "s1", "root", "-c"]
    assert drv.rcmd(["hostname"]).out == "s1\n"
    stop_through(drv)
    assert commands(events)[-1] == "srp -stop s1"
    assert sim.show("srp", "s1")["state"] == "off"


def test_srp_starting_is_neither_up_nor_down(sim, conf_node):
    sim.vmsim("define", "srp", "s1")
    sim.vmsim("fail", "srp", "s1", "start=hang")
    drv, log, events = driver(conf_node, "srp", {"name": "s1"})
    drv.start()
    assert drv.status() == ("warn", ["container status is neither up nor down"])


def test_srp_no_forced_stop(sim, clock_node):
    sim.vmsim("define", "srp", "s1", "--running", "--node", "node1")
    sim.vmsim("fail", "srp", "s1", "stop=hang")
    drv, log, events = driver(clock_node, "srp", {"name": "s1", "stop_timeout": 2}, clock=FakeClock())
    with pytest.raises(DriverError, match="^no forced stop method$"):
        stop_through(drv)


def test_srp_autostart_and_capabilities_warn(sim, conf_node, monkeypatch):
    sim.vmsim("define", "srp", "s1", "--autoboot")
    drv, log, events = driver(conf_node, "srp", {"name": "s1"})
    assert drv.status() == ("warn", ["container auto boot is on"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert drv.status() == ("warn", ["insufficient node capabilities"])


def test_srp_presync_export_and_postsync_import(sim, conf_node):
    sim.vmsim("define", "srp", "s1", "--set", "rootpath=/var/hpsrp/s1", "--set", "ip=10.1.2.3")
    drv, log, events = driver(conf_node, "srp", {"name": "s1"})
    xml = conf_node.root / "var" / "s1.xml"
    assert drv.files_to_sync() == [str(xml)]
    assert drv.presync_argv() == ["srp", "-batch", "-export", "s1", "-xfile", str(xml)]
    assert drv.postsync_argv() == ["srp", "-batch", "-import", "-xfile", str(xml), "allow_sw_mismatch=yes",
                                   "autostart=no"]
    drv.presync()
    assert '<param name="ip">10.1.2.3</param>' in xml.read_text()
    sim.vmsim("rm", "srp", "s1")
    drv.postsync()
    assert commands(events) == [" ".join(drv.presync_argv()), " ".join(drv.postsync_argv())]
    vm = sim.show("srp", "s1")
    assert (vm["extra"]["ip"], vm["autoboot"]) == ("10.1.2.3", False)


def test_srp_postsync_without_export_names_the_file(conf_node, sim):
    drv, log, events = driver(conf_node, "srp", {"name": "s1"})
    with pytest.raises(DriverError, match=r"s1.xml does not exist: run the sync from the node"):
        drv.postsync()


# =====================================================================================================
# jail
# =====================================================================================================
def test_jail_command_line(conf_node, tmp_path):
    drv, log, events = driver(conf_node, "jail", {"name": "jail1.opensvc.com", "jailroot": "/usr/jails/j1",
                                                  "ips": ["192.168.0.208", "192.168.0.209"],
                                                  "ip6s": ["fd00::8"]})
    assert drv.start_argv() == ["jail", "-c", "name=jail1", "path=/usr/jails/j1",
                                "host.hostname=jail1.opensvc.com", "ip4.addr=192.168.0.208,192.168.0.209",
                                "ip6.addr=fd00::8", "command=/bin/sh", "/etc/rc"]
    drv, log, events = driver(conf_node, "jail", {"name": "j2", "jailroot": "/j"})
    assert drv.start_argv() == ["jail", "-c", "name=j2", "path=/j", "host.hostname=j2", "command=/bin/sh",
                                "/etc/rc"]


def test_jls_hostname_column():
    from drivers.container_jail import listed_hostnames

    text = ("   JID  IP Address      Hostname                      Path\n"
            "     1  192.168.0.208   jail1.opensvc.com             /usr/jails/j1\n"
            "     2                  jail2                         /usr/jails/j2\n")
    assert listed_hostnames(text) == {"jail1.opensvc.com", "jail2"}
    assert listed_hostnames("1 10.0.0.1 jail3 /j3\n") == {"jail3"}


def test_jail_start_stop_sequence(sim, conf_node, tmp_path):
    root = tmp_path / "jails" / "j1"
    root.mkdir(parents=True)
    sim.vmsim("define", "jail", "j1.example.com")
    drv, log, events = driver(conf_node, "jail", {"name": "j1.example.com", "jailroot": str(root),
                                                  "ips": ["10.9.9.9"]})
    drv.pings = False            # no netns here: the jail's address is not plumbed (ping: scenarios)
    boot_through(drv)
    assert commands(events) == [f"jail -c name=j1 path={root} host.hostname=j1.example.com ip4.addr=10.9.9.9 "
                                f"command=/bin/sh /etc/rc"]
    assert "output:\nj1: created" in log.messages("INFO")
    jls = sim.cli("jls", node="node1").stdout.splitlines()
    # jls prints the path column truncated to 74 characters, as FreeBSD's does (a tmp root may be longer)
    assert jls[1].split() == [jls[1].split()[0], "10.9.9.9", "j1.example.com", str(root)[:74]]
    assert drv.status() == ("up", [])
    stop_through(drv)
    assert commands(events)[-1] == "jail -r j1"
    assert drv.status() == ("down", [])


def test_jail_status_is_plain(sim, conf_node):
    """No name resolution, capability or auto boot checks: only jls."""
    sim.vmsim("define", "jail", "j1")
    drv, log, events = make_driver(conf_node, "container", "jail",
                                   {"name": "j1", "hostname": "no-such-host.invalid", "jailroot": "/"})
    assert drv.status() == ("down", [])
    assert drv.operational()


def test_jail_no_forced_stop(sim, clock_node, tmp_path):
    sim.vmsim("define", "jail", "j1", "--boot", "0")      # running at once: the stop must find it up
    sim.cli("jail", "-c", "name=j1", f"path={tmp_path}", "host.hostname=j1", "command=/bin/sh", "/etc/rc",
            node="node1", check=True)
    sim.vmsim("fail", "jail", "j1", "stop=hang")
    drv, log, events = driver(clock_node, "jail", {"name": "j1", "jailroot": str(tmp_path), "stop_timeout": 2},
                              clock=FakeClock())
    with pytest.raises(DriverError, match="^no forced stop method$"):
        stop_through(drv)


def test_jail_path_must_exist(sim, conf_node, tmp_path):
    sim.vmsim("define", "jail", "j1")
    drv, log, events = driver(conf_node, "jail", {"name": "j1", "jailroot": str(tmp_path / "missing")})
    drv.pings = False            # 127.0.0.1 answers: the conflict probe would refuse first
    with pytest.raises(DriverError, match=r"No such file or directory"):
        drv.start()


# =====================================================================================================
# vz
# =====================================================================================================
def test_vz_status_words():
    from drivers.container_vz import Vz
    from drivers.runner import Result

    parse = Vz.parse_up
    assert parse(None, Result([], 0, "CTID 101 exist mounted running\n"))
    assert not parse(None, Result([], 0, "CTID 101 exist unmounted down\n"))
    assert not parse(None, Result([], 0, "CTID 101 exist mounted down\n"))
    assert not parse(None, Result([], 0, "CTID 101 deleted unmounted down\n"))
    assert not parse(None, Result([], 0, "CTID 101 exist mounted running suspended\n"))


def test_vz_onboot_reading():
    from drivers.container_vz import onboot

    assert onboot('VE_ROOT="/vz/root/$VEID"\nONBOOT="yes"\n')
    assert not onboot('ONBOOT="no"\n')
    assert not onboot('#ONBOOT="yes"\n')
    assert not onboot("")


def vz_cf(sim, ctid, onboot="no"):
    cf = sim.root / "etc" / "vz" / "conf" / f"{ctid}.conf"
    cf.parent.mkdir(parents=True, exist_ok=True)
    cf.write_text(f'ONBOOT="{onboot}"\nVE_ROOT="/vz/root/$VEID"\nVE_PRIVATE="/vz/private/$VEID"\n')
    return cf


def test_vz_start_stop_sequence(sim, conf_node):
    vz_cf(sim, "101")
    sim.vmsim("define", "vz", "101", "--set", "hostname=10.7.7.7")
    drv, log, events = driver(conf_node, "vz", {"name": "101"})
    boot_through(drv)
    assert commands(events) == ["vzctl start 101"]
    assert log.messages("INFO")[-2:] == ["wait for container up status", "wait for container operational"]
    assert sim.cli("vzctl", "status", "101", node="node1").stdout == "CTID 101 exist mounted running\n"
    assert drv.status() == ("up", [])
    assert "inet addr:10.7.7.7" in drv.rcmd(["/sbin/ifconfig", "-a"]).out
    stop_through(drv)
    assert commands(events)[-1] == "vzctl stop 101"
    assert drv.status() == ("down", [])
    assert sim.cli("vzctl", "status", "101", node="node1").stdout == "CTID 101 exist unmounted down\n"


def test_vz_onboot_warns_and_cf_is_synced(sim, conf_node):
    cf = vz_cf(sim, "101", onboot="yes")
    sim.vmsim("define", "vz", "101")
    drv, log, events = driver(conf_node, "vz", {"name": "101"})
    assert drv.cf == str(cf)
    assert drv.files_to_sync() == [str(cf)]
    assert drv.status() == ("warn", ["container auto boot is on"])


def test_vz_operational_needs_a_running_container(sim, conf_node):
    sim.vmsim("define", "vz", "101", "--running", "--node", "node2")
    drv, log, events = driver(conf_node, "vz", {"name": "101"})
    assert not drv.operational()
    assert drv.status() == ("down", [])
    assert sim.cli("vzctl", "status", "101", node="node2").stdout == "CTID 101 exist mounted running\n"


def test_vz_start_in_progress_is_neither_and_stop_ends_it(sim, conf_node):
    vz_cf(sim, "101")
    sim.vmsim("define", "vz", "101")
    sim.vmsim("fail", "vz", "101", "start=hang")
    drv, log, events = driver(conf_node, "vz", {"name": "101"})
    drv.start()
    assert sim.cli("vzctl", "status", "101", node="node1").stdout == "CTID 101 exist mounted down\n"
    assert drv.status() == ("warn", ["container status is neither up nor down"])
    stop_through(drv)
    assert commands(events) == ["vzctl start 101", "vzctl stop 101"]
    assert sim.show("vz", "101")["state"] == "off"


def test_vz_no_forced_stop(sim, clock_node):
    vz_cf(sim, "101")
    sim.vmsim("define", "vz", "101", "--running", "--node", "node1")
    sim.vmsim("fail", "vz", "101", "stop=hang")
    drv, log, events = driver(clock_node, "vz", {"name": "101", "stop_timeout": 2}, clock=FakeClock())
    with pytest.raises(DriverError, match="^no forced stop method$"):
        stop_through(drv)


# =====================================================================================================
# the shared scenarios, through the real CLI in a network namespace
# =====================================================================================================
def define_zone(pool, name, running_on=None):
    pool.sim.vmsim("define", "zone", name, *(["--running", "--node", running_on] if running_on else DETACHED))


def define_srp(pool, name, running_on=None):
    pool.sim.vmsim("define", "srp", name, *(["--running", "--node", running_on] if running_on else []))


def define_jail(pool, name, running_on=None):
    root = pool.sim.root / "jails" / name
    root.mkdir(parents=True, exist_ok=True)
    running = ["--running", "--node", running_on, "--set", f"jailname={name}", "--set", f"path={root}"]
    pool.sim.vmsim("define", "jail", name, *(running if running_on else []))


def define_vz(pool, name, running_on=None):
    vz_cf(pool.sim, name)
    pool.sim.vmsim("define", "vz", name, *(["--running", "--node", running_on] if running_on else []))


def tech(kind, pool):
    return {"zone": Tech("zone", define=define_zone),
            "srp": Tech("srp", define=define_srp),
            "jail": Tech("jail", define=define_jail,
                         keywords={"jailroot": str(pool.sim.root / "jails" / pool.vmname)}),
            "vz": Tech("vz", define=define_vz)}[kind]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("kind", ["zone", "srp", "jail", "vz"])
def test_os_container_scenarios(kind, scenario, vm_pool):
    scenario(vm_pool, tech(kind, vm_pool))
