"""docker, openstack and vcloud containers: the drivers' command lines and parsers against the
simulators on PATH (`docker`, `openstack`, `vcd`), and the shared scenarios through the real CLI."""

import json
import secrets
from pathlib import Path

import pytest

from tests.helpers.cli import journal_rows
from tests.helpers.container_scenarios import (RID, SCENARIOS, START_PHASES, SVC, Tech, running_elsewhere,
                                               write_service)
from tests.helpers.drivers import make_driver
from tests.helpers.sim import FakeClock, sim_node_conf


def hexid():
    return secrets.token_hex(32)


# ==================================================================================================
# docker
# ==================================================================================================
def docker_driver(node, conf=None, **kw):
    return make_driver(node, "container", "docker", {"run_image": "busybox", **(conf or {})}, **kw)


def test_docker_run_when_no_container(sim, simnode):
    drv, log, events = docker_driver(simnode, {"run_args": "-d --name=other --net=none -e A=1",
                                               "run_command": "sleep 3600"})
    assert drv.name == "svc1.container.1"
    drv.start()
    assert log.messages("INFO")[0] == ("docker run -d --name=svc1.container.1 --net=none -e A=1 busybox "
                                       "sleep 3600")
    cid = sim.show("docker", "svc1.container.1")["id"]
    assert len(cid) == 64 and drv.container_id() == cid
    drv.wait_up()
    assert drv.is_up() and drv.status() == ("up", [])
    assert drv.can_rollback


def test_docker_start_existing_container_by_id(sim, simnode):
    cid = hexid()
    sim.vmsim("define", "docker", "web", "--id", cid, "--node", "node1", "--set", "image=busybox")
    drv, log, _ = docker_driver(simnode, {"name": "web"})
    assert drv.name == "web"
    assert drv.status() == ("down", [])
    drv.start()
    assert log.messages("INFO")[0] == f"docker start {cid}"
    drv.wait_up()
    drv.stop()
    assert log.messages("INFO")[-2:] == [f"docker stop {cid}", f"output:\n{cid}"]
    assert sim.show("docker", "web")["state"] == "off"
    drv.wait_down()
    assert drv.status() == ("down", [])


def test_docker_force_stop_kills(sim, simnode):
    cid = hexid()
    sim.vmsim("define", "docker", "web", "--id", cid, "--node", "node1", "--running", "--set", "image=busybox")
    drv, log, _ = docker_driver(simnode, {"name": "web"})
    drv.force_stop()
    assert f"docker kill {cid}" in log.messages("INFO")
    assert log.messages("WARNING") == ["Waited too long for shutdown"]
    assert sim.show("docker", "web")["extra"]["exit_code"] == 137
    assert drv.is_down()


def test_docker_stop_waits_then_docker_kills_a_hung_container(sim, simnode):
    cid = hexid()
    sim.vmsim("define", "docker", "web", "--id", cid, "--node", "node1", "--running", "--set", "image=busybox")
    sim.vmsim("fail", "docker", "web", "stop=hang")
    res = sim.cli("docker", "stop", "-t", "1", "web", node="node1")
    assert (res.returncode, res.stdout) == (0, "web\n")
    vm = sim.show("docker", "web")
    assert (vm["state"], vm["extra"]["exit_code"]) == ("off", 137)


def test_docker_daemon_not_running_is_down(sim, simnode):
    from simulators.docker import daemon_flag

    cid = hexid()
    sim.vmsim("define", "docker", "web", "--id", cid, "--node", "node1", "--running")
    daemon_flag("node1").parent.mkdir(parents=True, exist_ok=True)
    daemon_flag("node1").touch()
    drv, _, _ = docker_driver(simnode, {"name": "web"})
    assert drv.status() == ("down", ["docker daemon is not running"])
    res = sim.cli("docker", "info", node="node1")
    assert res.returncode == 1
    assert res.stderr.strip() == ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                                  "Is the docker daemon running?")


def test_docker_unknown_image_fails_the_start_with_the_daemon_message(sim, simnode):
    drv, log, _ = docker_driver(simnode, {"run_image": "nosuchimage:1.0"})
    with pytest.raises(Exception) as exc:
        drv.start()
    assert "docker run -d --name=svc1.container.1 nosuchimage:1.0 failed (rc 125)" in str(exc.value)
    stderr = log.messages("ERROR")[-1]
    assert stderr.startswith("stderr:\nUnable to find image 'nosuchimage:1.0' locally\n"
                             "docker: Error response from daemon: pull access denied for nosuchimage")
    assert not drv.can_rollback


def test_docker_private_socket_from_node_conf(sim, node):
    sim_node_conf(node.root, sim, paths={"docker_socket": "/run/osvc/svc1/docker.sock"})
    drv, log, _ = docker_driver(node)
    assert drv.up_argv() == ["docker", "-H", "unix:///run/osvc/svc1/docker.sock", "ps", "-q", "--no-trunc",
                             "--filter", r"name=^svc1\.container\.1$"]
    drv.start()
    assert log.messages("INFO")[0].startswith("docker -H unix:///run/osvc/svc1/docker.sock run -d ")


def test_docker_containers_belong_to_their_node(sim, simnode):
    cid = hexid()
    sim.vmsim("define", "docker", "web", "--id", cid, "--node", "node2", "--running", "--set", "image=busybox")
    here = sim.cli("docker", "ps", "-q", "--no-trunc", node="node1")
    there = sim.cli("docker", "ps", "-q", "--no-trunc", node="node2")
    assert (here.stdout, there.stdout) == ("", cid + "\n")
    table = sim.cli("docker", "ps", "-a", node="node2").stdout.splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert table[1].startswith(cid[:12] + "   busybox   ") and table[1].endswith("web")
    assert " Up " in table[1]
    missing = sim.cli("docker", "inspect", "web", node="node1")
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, "[]\n", "Error: No such object: web\n")
    doc = json.loads(sim.cli("docker", "inspect", "web", node="node2").stdout)[0]
    assert (doc["Id"], doc["Name"], doc["State"]["Status"]) == (cid, "/web", "running")


def test_docker_guest_commands_run_through_docker_exec(sim, simnode):
    sim.vmsim("define", "docker", "web", "--node", "node1", "--running")     # no --id: the daemon makes one
    drv, log, _ = docker_driver(simnode, {"name": "web"})
    assert len(drv.container_id()) == 64 and drv.is_up()
    assert drv.runmethod() == ["docker", "exec", "web"]
    assert drv.rcmd(["hostname"]).out == "web\n"
    assert drv.operational()


def define_docker(pool, name, running_on=None):
    """A container an admin created (docker create) on node1, or running on `running_on`."""
    args = ["define", "docker", name, "--id", hexid(), "--node", running_on or "node1", "--set", "image=busybox"]
    pool.sim.vmsim(*args, *(["--running"] if running_on else []))


DOCKER = Tech("docker", define=define_docker, keywords={"run_image": "busybox", "run_command": "sleep 3600"})


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_docker_scenarios(scenario, vm_pool):
    scenario(vm_pool, DOCKER)


# ==================================================================================================
# openstack
# ==================================================================================================
OS_CONF = {"cloud_id": "simcloud", "key_name": "osvc", "size": "m1.small"}
GUEST = "192.0.2.10"        # TEST-NET-1: the simulated guest's address (never answers a real ping)


def os_driver(node, conf=None, **kw):
    (node.etc / "osvc.pem").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    return make_driver(node, "container", "openstack", {"name": "web1", "hostname": GUEST, **OS_CONF,
                                                        **(conf or {})}, **kw)


def os_cli(sim, *args):
    return sim.cli("openstack", "--os-cloud", "simcloud", *args, node="node1")


def test_openstack_start_reboots_a_shutoff_server(sim, simnode):
    sim.vmsim("define", "openstack", "web1", "--id", "6f1c1f0e-1111-4c8e-9d41-3c7b7f3b0a01",
              "--set", f"hostname={GUEST}")
    drv, log, _ = os_driver(simnode)
    assert drv.status() == ("down", [])
    drv.start()
    assert log.messages("INFO") == ["reboot web1", "openstack --os-cloud simcloud server reboot --hard web1"]
    assert sim.show("openstack", "web1")["extra"]["boot_status"] == "HARD_REBOOT"
    drv.wait_up()
    assert drv.status() == ("up", [])


def test_openstack_refuses_to_reboot_a_server_in_another_state(sim, simnode):
    sim.vmsim("define", "openstack", "web1")
    sim.vmsim("fail", "openstack", "web1", "start=hang")
    assert os_cli(sim, "server", "reboot", "--hard", "web1").returncode == 0
    drv, log, events = os_driver(simnode)
    with pytest.raises(Exception, match=r"^abort reboot because vm is in state HARD_REBOOT \(!=SHUTOFF\)$"):
        drv.start()
    assert log.messages("INFO") == [] and not drv.can_rollback


def test_openstack_creates_the_server_from_its_last_save(sim, simnode):
    for name in ("web1.save.2026-01-02.10:00:00", "web1.save.2026-03-04.09:30:00", "other.save"):
        assert os_cli(sim, "image", "create", "--disk-format", "qcow2", name).returncode == 0
    drv, log, _ = os_driver(simnode)
    assert drv.status() == ("down", [])
    drv.start()
    assert log.messages("INFO")[:2] == [
        "create instance web1, size m1.small, image web1.save.2026-03-04.09:30:00, key osvc",
        "openstack --os-cloud simcloud server create --image web1.save.2026-03-04.09:30:00 --flavor m1.small "
        "--key-name osvc web1"]
    shown = json.loads(os_cli(sim, "server", "show", "web1", "-f", "json").stdout)
    assert (shown["image"].split()[0], shown["key_name"], shown["flavor"]) == (
        "web1.save.2026-03-04.09:30:00", "osvc", "m1.small (2)")
    assert sim.show("openstack", "web1")["extra"]["boot_status"] == "BUILD"
    drv.wait_up()
    assert drv.is_up()


def test_openstack_create_without_a_save_names_the_missing_image(sim, simnode):
    drv, _, _ = os_driver(simnode)
    with pytest.raises(Exception, match=r"^image web1\.save not found$"):
        drv.start()


def test_openstack_stop_is_a_guest_shutdown_over_ssh_with_the_key(sim, simnode):
    sim.vmsim("define", "openstack", "web1", "--running", "--set", f"hostname={GUEST}")
    drv, log, _ = os_driver(simnode)
    key = simnode.etc / "osvc.pem"
    assert drv.runmethod()[-3:] == ["-i", str(key), GUEST]
    assert drv.operational()
    drv.stop()
    ssh = drv.path("rsh").split()[0]
    assert log.messages("INFO") == [
        "remote command: shutdown -h now",
        f"{ssh} -o StrictHostKeyChecking=no -o ForwardX11=no -o BatchMode=yes -n -o ConnectTimeout=5 "
        f"-i {key} {GUEST} shutdown -h now"]
    drv.wait_down()
    assert os_cli(sim, "server", "show", "web1", "-f", "value", "-c", "status").stdout == "SHUTOFF\n"


def test_openstack_force_stop_saves_deletes_and_purges(sim, simnode):
    assert os_cli(sim, "image", "create", "web1.save.2020-01-01.00:00:00").returncode == 0
    sim.vmsim("define", "openstack", "web1", "--running")
    drv, log, _ = os_driver(simnode)
    drv.force_stop()
    info = log.messages("INFO")
    saved = info[0].removeprefix("save new image ")
    assert saved.startswith("web1.save.20") and len(saved) == len("web1.save.2020-01-01.00:00:00")
    assert info[1] == f"openstack --os-cloud simcloud server image create --name {saved} web1"
    assert "openstack --os-cloud simcloud server delete web1" in info
    assert info[-2:] == ["delete previous save image web1.save.2020-01-01.00:00:00",
                         "openstack --os-cloud simcloud image delete web1.save.2020-01-01.00:00:00"]
    names = os_cli(sim, "image", "list", "-f", "value", "-c", "Name").stdout.split()
    assert names == [saved]
    assert os_cli(sim, "image", "show", saved, "-f", "value", "-c", "status").stdout == "active\n"
    gone = os_cli(sim, "server", "show", "web1")
    assert (gone.returncode, gone.stderr) == (1, "No server with a name or ID of 'web1' exists.\n")
    assert drv.is_down() and drv.status() == ("down", [])


def test_openstack_failed_save_stops_the_force_stop(sim, simnode):
    sim.vmsim("define", "openstack", "web1", "--running")
    sim.vmsim("fail", "openstack", "web1", "save=fail")
    drv, log, _ = os_driver(simnode)
    with pytest.raises(Exception, match=r"^save failed, image status killed$"):
        drv.force_stop()
    assert not any("server delete" in m for m in log.messages())
    assert sim.show("openstack", "web1")["state"] == "running"


def test_openstack_save_that_never_ends_times_out_after_240_s(sim, node):
    sim_node_conf(node.root, sim, poll=60)
    sim.vmsim("define", "openstack", "web1", "--running")
    sim.vmsim("fail", "openstack", "web1", "save=hang")
    clock = FakeClock()
    drv, log, _ = os_driver(node, clock=clock, sleep=clock.sleep)
    with pytest.raises(Exception, match=r"^save failed, image status saving$"):
        drv.force_stop()
    assert clock.slept == [60.0] * 4
    assert not any("server delete" in m for m in log.messages())


def test_openstack_without_credentials_is_a_warning_with_the_client_message(sim, simnode, monkeypatch):
    monkeypatch.delenv("OS_CLOUD", raising=False)
    monkeypatch.delenv("OS_AUTH_URL", raising=False)
    sim.vmsim("define", "openstack", "web1", "--running")
    drv, _, _ = os_driver(simnode, {"cloud_id": ""})
    assert drv.status() == ("warn", ["Missing value auth-url required for auth plugin password"])
    assert not drv.is_up() and not drv.is_down()


def test_openstack_simulator_output_shapes(sim, simnode):
    sim.vmsim("define", "openstack", "web1", "--id", "first-web1", "--set", "hostname=10.1.2.3")
    table = os_cli(sim, "server", "show", "web1", "-c", "name", "-c", "status").stdout.splitlines()
    assert table == ["+--------+---------+", "| Field  | Value   |", "+--------+---------+",
                     "| name   | web1    |", "| status | SHUTOFF |", "+--------+---------+"]
    shown = json.loads(os_cli(sim, "server", "show", "web1", "-f", "json").stdout)
    assert shown["addresses"] == {"private": ["10.1.2.3"]}
    assert shown["OS-EXT-STS:vm_state"] == "stopped"
    soft = os_cli(sim, "server", "reboot", "web1")
    assert soft.returncode == 1
    assert soft.stderr.startswith(f"Cannot 'reboot' instance {shown['id']} while it is in vm_state stopped "
                                  f"(HTTP 409) (Request-ID: req-")
    sim.vmsim("define", "openstack", "web1", "--id", "second-web1")
    twice = os_cli(sim, "server", "show", "web1")
    assert (twice.returncode, twice.stderr) == (1, "More than one server exists with the name 'web1'.\n")


def test_openstack_addresses_both_client_formats():
    from drivers.container_openstack import parse_addresses

    assert parse_addresses({"private": ["10.0.0.5", "fd00::5"], "public": ["172.24.4.9"]}) == [
        "10.0.0.5", "fd00::5", "172.24.4.9"]
    assert parse_addresses({"private": [{"addr": "10.0.0.5", "version": 4}]}) == ["10.0.0.5"]
    assert parse_addresses("private=10.0.0.5, 172.24.4.9; other=192.168.0.2") == [
        "10.0.0.5", "172.24.4.9", "192.168.0.2"]


# ==================================================================================================
# vcloud
# ==================================================================================================
def vcd_login(sim, node="node1", vdc="vdc1"):
    res = sim.cli("vcd", "login", "vcd.example.com", "org1", "admin", "--password", "secret",
                  *(["--vdc", vdc] if vdc else []), node=node)
    assert res.returncode == 0, res.stderr
    return res


def vcloud_driver(node, conf=None, **kw):
    return make_driver(node, "container", "vcloud", {"name": "db1", "vapp": "vapp1", "hostname": GUEST,
                                                     **(conf or {})}, **kw)


def test_vcloud_power_on_shutdown_power_off(sim, simnode):
    vcd_login(sim)
    sim.vmsim("define", "vcloud", "db1", "--id", "0a6c2bd4-5e1f-4a0e-9d6e-2f0b3c4d5e6f", "--set", "vapp=vapp1",
              "--set", f"hostname={GUEST}")
    drv, log, _ = vcloud_driver(simnode)
    assert drv.status() == ("down", [])
    assert drv.addresses() == [GUEST]
    drv.start()
    assert log.messages("INFO")[:2] == ["power on container db1",
                                        "vcd --no-colorized --no-wait vm power-on vapp1 db1"]
    task = log.messages("INFO")[2]
    assert task.startswith("output:\n\x1b[2K\rproperty ") and "operationName     vappPowerOn" in task
    drv.wait_up()
    assert drv.status() == ("up", [])
    drv.stop()
    assert log.messages("INFO")[3:6] == ["wait for container up status", "shutdown container db1",
                                         "vcd --no-colorized --no-wait vm shutdown vapp1 db1"]
    drv.wait_down()
    assert sim.show("vcloud", "db1")["state"] == "off"
    drv.start()
    drv.wait_up()
    drv.force_stop()
    assert log.messages("INFO")[-3:-1] == ["power off container db1",
                                           "vcd --no-colorized --no-wait vm power-off vapp1 db1"]
    assert drv.is_down()


def test_vcloud_power_on_of_a_running_vm_fails_with_the_director_message(sim, simnode):
    vcd_login(sim)
    sim.vmsim("define", "vcloud", "db1", "--running", "--set", "vapp=vapp1")
    res = sim.cli("vcd", "--no-colorized", "vm", "power-on", "vapp1", "db1", node="node1")
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    assert lines[0] == "Usage: vcd vm power-on [OPTIONS] <vapp-name> <vm-name>"
    assert lines[1:3] == ["Try 'vcd vm power-on -h' for help.", ""]
    assert lines[3].startswith("Error: Status code: 400/BAD_REQUEST, [ ")
    assert lines[3].endswith('] The requested operation could not be executed since VM "db1" is not powered off.')


def test_vcloud_without_a_session_is_a_warning(sim, simnode):
    sim.vmsim("define", "vcloud", "db1", "--running", "--set", "vapp=vapp1")
    drv, _, _ = vcloud_driver(simnode)
    assert drv.status() == ("warn", ["Can't restore session, please login again."])
    vcd_login(sim, vdc="")
    assert drv.status() == ("warn", ["select a virtual datacenter"])
    vcd_login(sim)
    assert drv.status() == ("up", [])


def test_vcloud_absent_vapp_or_vm_is_down_and_a_missing_vapp_keyword_is_named(sim, simnode):
    vcd_login(sim)
    sim.vmsim("define", "vcloud", "db1", "--set", "vapp=vapp1")
    res = sim.cli("vcd", "-j", "vm", "info", "vapp2", "db1", node="node1")
    assert (res.returncode, json.loads(res.stdout)) == (1, {"error": "vApp named 'vapp2' not found"})
    assert vcloud_driver(simnode, {"vapp": "vapp2"})[0].status() == ("down", [])
    assert vcloud_driver(simnode, {"name": "db2"})[0].status() == ("down", [])
    drv, _, _ = vcloud_driver(simnode, {"vapp": ""})
    assert drv.status() == ("warn", ["container#1: vapp is not set: the vApp holding VM db1"])


# ==================================================================================================
# shared scenarios (tests/helpers/container_scenarios.py)
# ==================================================================================================
def define_openstack(pool, name, running_on=None):
    """A SHUTOFF server (running where asked) and the ssh key on both nodes."""
    for root in pool.roots.values():
        (Path(root) / "etc" / "osvc.pem").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    args = ["define", "openstack", name, "--id", f"{secrets.token_hex(4)}-5e1f-4a0e-9d6e-2f0b3c4d5e6f"]
    pool.sim.vmsim(*args, *(["--node", running_on, "--running"] if running_on else []))


def define_vcloud(pool, name, running_on=None):
    """A VM of vApp vapp1, and a vcd session on both nodes."""
    for node in pool.roots:
        vcd_login(pool.sim, node)
    args = ["define", "vcloud", name, "--id", f"{secrets.token_hex(4)}-5e1f-4a0e-9d6e-2f0b3c4d5e6f",
            "--set", "vapp=vapp1"]
    pool.sim.vmsim(*args, *(["--node", running_on, "--running"] if running_on else []))


OPENSTACK = Tech("openstack", define=define_openstack, keywords=OS_CONF)
VCLOUD = Tech("vcloud", define=define_vcloud, keywords={"vapp": "vapp1"})


def cloud_vm_running_anywhere_is_already_started(pool, tech):
    """A cloud answers the same to every node: a VM running (started from node2) is up here too, so
    the start is the reference's no-op `container <name> already started`, not a refusal."""
    tech.define(pool, pool.vmname, running_on="node2")
    write_service(pool, tech)
    res = pool.osvc("-s", SVC, "start")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"container {pool.vmname} already started" in res.stdout + res.stderr
    assert pool.phases() == START_PHASES
    assert [r for r in journal_rows(pool.roots["node1"], svc=SVC, kind="command") if r["rid"] == RID] == []
    vm = pool.vm(tech)
    assert (vm["state"], vm["node"]) == ("running", "node2")


CLOUD_SCENARIOS = [s for s in SCENARIOS if s is not running_elsewhere] + [cloud_vm_running_anywhere_is_already_started]


@pytest.mark.parametrize("scenario", CLOUD_SCENARIOS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("tech", [OPENSTACK, VCLOUD], ids=lambda t: t.type)
def test_cloud_scenarios(tech, scenario, vm_pool):
    scenario(vm_pool, tech)


FORCED_STOP = [("stop", "up", "stopping"), ("wait_down", "stopping", "wait-down"),
               ("force_stop", "wait-down", "force-stopping"), ("wait_down", "force-stopping", "wait-down"),
               ("stopped", "wait-down", "down")]
FORCE_COMMANDS = {
    "openstack": ["openstack --os-cloud simcloud server image create --name {vm}.save.",
                  "openstack --os-cloud simcloud server delete {vm}"],
    "vcloud": ["vcd --no-colorized --no-wait vm power-off vapp1 {vm}"],
}


@pytest.mark.parametrize("tech", [OPENSTACK, VCLOUD], ids=lambda t: t.type)
def test_cloud_stop_that_hangs_is_forced(tech, vm_pool):
    """The guest never goes down: after stop_timeout the journal shows force-stopping, the force
    commands (openstack: save, delete; vcloud: power-off), then down."""
    pool = vm_pool
    tech.define(pool, pool.vmname)
    write_service(pool, tech)
    assert pool.osvc("-s", SVC, "start").returncode == 0
    pool.sim.vmsim("fail", tech.folder, pool.vmname, "stop=hang")
    res = pool.osvc("-s", SVC, "stop")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Waited too long for shutdown" in res.stdout + res.stderr
    assert pool.phases() == START_PHASES + FORCED_STOP
    ran = [r["payload"]["argv"] for r in journal_rows(pool.roots["node1"], svc=SVC, kind="command")
           if r["rid"] == RID]
    lines = [" ".join(argv) for argv in ran]
    for expected in FORCE_COMMANDS[tech.type]:
        assert any(line.startswith(expected.format(vm=pool.vmname)) for line in lines), lines
    assert " down " in pool.status_line()
    if tech.type == "openstack":
        images = pool.sim.cli("openstack", "--os-cloud", "simcloud", "image", "list", "-f", "value", "-c", "Name")
        assert images.stdout.startswith(f"{pool.vmname}.save.")
