"""docker, openstack and vcloud containers: the drivers' command lines and parsers against the
simulators on PATH (`docker`, `openstack`, `vcd`), and the shared scenarios through the real CLI."""

import json
import secrets
from pathlib import Path

import pytest

from tests.helpers.container_scenarios import SCENARIOS, SVC, Tech, running_elsewhere, vm_pool  # noqa: F401
from tests.helpers.drivers import make_driver
from tests.helpers.sim import sim, sim_node_conf, vm_netns  # noqa: F401 (fixtures)


def hexid():
    return secrets.token_hex(32)


def commands(events):
    """The command lines the driver ran (not the quiet probes)."""
    return [" ".join(e["argv"]) if isinstance(e, dict) else " ".join(e.argv) for e in events]


@pytest.fixture
def simnode(sim, node):
    sim_node_conf(node.root, sim)
    return node


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
    cid = hexid()
    sim.vmsim("define", "docker", "web", "--id", cid, "--node", "node1", "--running")
    drv, log, _ = docker_driver(simnode, {"name": "web"})
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
