"""app, in guest (drivers/app_guest.py): a VM service's launchers in the guest's /svc/etc/init.d, run by
the host engine through the container's runmethod, no engine in the guest
(docs/encapsulation-and-cluster.md §1.5, first form).

Real: an LXC busybox guest (tests/helpers/guest.py) started by the host engine's lxc driver; the
launchers are files of the guest's rootfs; S10db touches /tmp/db.up in the guest, K10db removes it,
C10db tests it. Then the mode's choice, on config-built specs.
"""

import json

import pytest

from tests.helpers.cli import journal_rows

SVC = "vmsvc"
DB = """#!/bin/sh
# the guest's database: /tmp/db.up in the guest says it runs
case "$1" in
start) echo "db starting in $(hostname)"; touch /tmp/db.up ;;
stop) rm -f /tmp/db.up ;;
status) test -f /tmp/db.up ;;
esac
"""


def ok(res):
    assert res.returncode == 0, f"rc {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


@pytest.fixture
def vm(lxc_guest, tmp_path):
    """A host node hv1 whose service vmsvc is the LXC guest's container and its 1.5 [app], the guest's
    launchers S10db, K10db, C10db. Returns (guest, hv1 root)."""
    hv1 = lxc_guest.host_root(tmp_path / "hv1")
    (hv1 / "etc" / f"{SVC}.env").write_text(
        "[DEFAULT]\nnodes = hv1\n\n" + lxc_guest.container_section() + "[app]\n")
    for name in ("S10db", "K10db", "C10db"):
        lxc_guest.write(f"/svc/etc/init.d/{name}", DB, mode=0o755)
    return lxc_guest, hv1


def app_status(guest, hv1) -> dict:
    doc = json.loads(ok(guest.host_osvc(hv1, "-s", SVC, "print", "status", "--refresh", "--format", "json")).stdout)
    return doc["resources"]["app"]


def attach(guest, *argv) -> str:
    return f"lxc-attach -n {guest.name} -P {guest.lxcpath} -- {' '.join(argv)}"


def app_commands(hv1) -> list:
    return [" ".join(r["payload"]["argv"]) for r in journal_rows(hv1, svc=SVC, kind="command") if r["rid"] == "app"]


@pytest.mark.root
def test_start_stop_startapp_stopapp_and_status_through_lxc_attach(vm):
    guest, hv1 = vm
    db_up = guest.rootfs / "tmp" / "db.up"
    # container down: the app is not evaluated, and says why
    status = app_status(guest, hv1)
    assert (status["status"], status["log"]) == ("n/a", ["container is down"])

    out = ok(guest.host_osvc(hv1, "-s", SVC, "start")).stdout
    log = hv1 / "var" / SVC / "tmp" / f"svc_{SVC}_S10db.log"
    assert f"{attach(guest, '/svc/etc/init.d/S10db', 'start')}\n" in out
    assert f" - ret 0 - logs in {log}\n" in out and "start done in 0:00:" in out
    assert out.index("wait for container operational") < out.index("/svc/etc/init.d/S10db start")
    assert db_up.exists()                                     # the launcher ran in the guest
    assert log.read_text() == f"db starting in {guest.name}\n"     # its output is on the host
    assert app_status(guest, hv1)["status"] == "up"           # C10db, through lxc-attach

    out = ok(guest.host_osvc(hv1, "-s", SVC, "stopapp")).stdout
    assert f"{attach(guest, '/svc/etc/init.d/K10db', 'stop')}\n" in out
    assert f" - ret 0 - logs in {hv1 / 'var' / SVC / 'tmp' / f'svc_{SVC}_K10db.log'}\n" in out
    assert not db_up.exists() and guest.state() == "RUNNING"   # the applications only, not the VM
    assert app_status(guest, hv1)["status"] == "down"

    ok(guest.host_osvc(hv1, "-s", SVC, "startapp"))
    assert db_up.exists()
    assert app_status(guest, hv1)["status"] == "up"

    out = ok(guest.host_osvc(hv1, "-s", SVC, "stop")).stdout
    assert out.index("/svc/etc/init.d/K10db stop") < out.index("lxc-stop")      # apps before the VM
    assert not db_up.exists() and guest.state() == "STOPPED"
    # the journal: each launcher run is a command record of the app, the probes are not recorded
    assert app_commands(hv1) == [attach(guest, "/svc/etc/init.d/S10db", "start"),
                                 attach(guest, "/svc/etc/init.d/K10db", "stop"),
                                 attach(guest, "/svc/etc/init.d/S10db", "start"),
                                 attach(guest, "/svc/etc/init.d/K10db", "stop")]


@pytest.mark.root
def test_failing_launcher_and_missing_folder(vm):
    guest, hv1 = vm
    # stopapp with the container down: its applications went down with it
    out = ok(guest.host_osvc(hv1, "-s", SVC, "stopapp")).stdout
    assert "container is down: no application to stop in the guest\n" in out
    # startapp with the container down: refused, with the reason
    res = guest.host_osvc(hv1, "-s", SVC, "startapp")
    assert res.returncode != 0
    assert f"cannot start the applications of container {guest.name}: container is down" in res.stdout + res.stderr

    # a failing S20 after S10db: the start fails, the rollback runs the K* (K10db)
    guest.write("/svc/etc/init.d/S20bad", "#!/bin/sh\necho broken; exit 3\n", mode=0o755)
    ok(guest.host_osvc(hv1, "-s", SVC, "start", "--rid", "container#1"))
    res = guest.host_osvc(hv1, "-s", SVC, "startapp")
    assert res.returncode != 0
    assert f" - ret 3 - logs in {hv1 / 'var' / SVC / 'tmp' / f'svc_{SVC}_S20bad.log'}\n" in res.stdout
    assert "S20bad start failed" in res.stdout + res.stderr
    assert "/svc/etc/init.d/K10db stop" in res.stdout                     # rolled back
    assert not (guest.rootfs / "tmp" / "db.up").exists()

    # no launcher folder in the guest: status says so; a start makes it (journaled) and runs nothing
    for name in ("S10db", "K10db", "C10db", "S20bad"):
        (guest.rootfs / "svc" / "etc" / "init.d" / name).unlink()
    (guest.rootfs / "svc" / "etc" / "init.d").rmdir()
    assert app_status(guest, hv1)["log"] == [f"/svc/etc/init.d is not present inside container {guest.name}"]
    ok(guest.host_osvc(hv1, "-s", SVC, "startapp"))
    assert (guest.rootfs / "svc" / "etc" / "init.d").is_dir()
    assert app_commands(hv1)[-1] == attach(guest, "mkdir", "-p", "/svc/etc/init.d")
    assert app_status(guest, hv1)["log"] == ["no checkup scripts"]


# --- the mode's choice (no container started) ---------------------------------------------------------
@pytest.mark.parametrize("text, guest_mode", [
    ("[container#1]\ntype = kvm\nname = vm1\n\n[app]\n", True),
    ("[DEFAULT]\nmode = hpvm\n\n[app]\n", True),                          # the implicit container
    ("[app]\n", False),                                                   # no VM: the host's launchers
    ("[container#1]\ntype = kvm\nname = vm1\n\n[app#1]\nscript = /bin/true\nstart = 10\n", False),
    ("[container#1]\ntype = kvm\nname = vm1\n\n[app]\n\n[fs#1]\ntype = ext4\ndev = /dev/sdb\nmnt = /srv\ntags = encap\n",
     False),                                                              # a guest engine owns them
])
def test_in_guest_mode_choice(node, text, guest_mode):
    from config.build import load_service
    from drivers.app_guest import AppGuest
    from tests.helpers.drivers import make_driver

    if not text.startswith("[DEFAULT]"):
        text = "[DEFAULT]\n" + text
    text = text.replace("[DEFAULT]\n", "[DEFAULT]\nnodes = node1\n", 1)
    (node.etc / "svc1.env").write_text(text)
    spec = load_service(node, "svc1")
    res = spec.resource("app#1" if "[app#1]" in text else "app")
    drv, _, _ = make_driver(node, "app", conf=res.conf, rid=res.rid, spec=spec)
    assert isinstance(drv, AppGuest) is guest_mode


# --- another technology: the VM cookbook's hpvm seed, its runmethod ssh (the simulators') ---------------
SIM_DB = """#!/bin/sh
# the simulated guest's database: its state under the guest's / (GUEST_ROOT: simulators/guest.py)
case "$1" in
start) echo "db starting in $HOSTNAME"; touch "$GUEST_ROOT/tmp/db.up" ;;
stop) rm -f "$GUEST_ROOT/tmp/db.up" ;;
status) test -f "$GUEST_ROOT/tmp/db.up" ;;
esac
"""


def test_vm188_seed_launchers_through_the_ssh_runmethod(sim, vm_netns, tmp_path):
    """vm188.env verbatim plus a bare [app]: hpvm's runmethod is the node's rsh (`ssh ... -- vm188`),
    here the ssh simulator, whose guest has a file hierarchy (`vmsim define ... --set guestfs=`)."""
    import shutil

    from tests.helpers.cli import osvc
    from tests.helpers.paths import DATA
    from tests.helpers.sim import SIM_BIN, sim_node_conf

    ns, add_host = vm_netns
    add_host("vm188", "10.88.1.88")
    nodes = ("node109", "node110", "node111", "node112", "node120")
    roots = {n: tmp_path / n for n in nodes}
    for root in roots.values():
        for sub in ("etc", "var", "log"):
            (root / sub).mkdir(parents=True)
        sim_node_conf(root, sim, sections={"transport": {"kind": "local"},
                                           "roots": {n: str(r) for n, r in roots.items()}})
        shutil.copy(DATA / "seeds" / "vm188.env", root / "etc" / "vm188.env")
        with open(root / "etc" / "vm188.env", "a") as fh:
            fh.write("\n[app]\n")
    guestfs = tmp_path / "vm188-fs"
    (guestfs / "tmp").mkdir(parents=True)
    for name in ("S10db", "K10db", "C10db"):
        launcher = guestfs / "svc" / "etc" / "init.d" / name
        launcher.parent.mkdir(parents=True, exist_ok=True)
        launcher.write_text(SIM_DB)
        launcher.chmod(0o755)
    sim.vmsim("define", "hpvm", "vm188", "--disk", "/dev/rdisk/disk10", "--set", f"guestfs={guestfs}")
    root, db_up = roots["node109"], guestfs / "tmp" / "db.up"
    ssh = f"{SIM_BIN / 'ssh'} -q -o StrictHostKeyChecking=no -o BatchMode=yes -- vm188"

    def cli(*args):
        return osvc(root, "-s", "vm188", *args, node="node109", wrap=("ip", "netns", "exec", ns))

    def app():
        doc = json.loads(ok(cli("print", "status", "--refresh", "--format", "json")).stdout)
        return doc["resources"]["app"]["status"], doc["resources"]["app"]["log"]

    assert app() == ("n/a", ["container is down"])
    out = ok(cli("start")).stdout
    log = root / "var" / "vm188" / "tmp" / "svc_vm188_S10db.log"
    assert f"{ssh} /svc/etc/init.d/S10db start\n" in out and f" - ret 0 - logs in {log}\n" in out
    assert db_up.exists() and log.read_text() == "db starting in vm188\n"
    assert app() == ("up", [])

    out = ok(cli("stopapp")).stdout
    assert f"{ssh} /svc/etc/init.d/K10db stop\n" in out
    assert not db_up.exists() and sim.show("hpvm", "vm188")["state"] == "running"
    assert app() == ("down", [])

    ok(cli("startapp"))
    out = ok(cli("stop")).stdout
    assert out.index("/svc/etc/init.d/K10db stop") < out.index("hpvmstop")
    assert not db_up.exists() and sim.show("hpvm", "vm188")["state"] == "off"
    assert app() == ("n/a", ["container is down"])

    # the VM runs but its sshd refuses: status says so, a stop warns and stops the VM anyway
    ok(cli("start"))
    sim.vmsim("fail", "hpvm", "vm188", "ssh=refuse")
    deaf = f"container vm188 does not answer `{ssh} pwd` (rc 255)"
    assert app() == ("n/a", [deaf])
    res = ok(cli("stop"))
    assert f"WARNING VM188.APP     {deaf}: no application to stop in the guest\n" in res.stdout
    assert sim.show("hpvm", "vm188")["state"] == "off"
    assert app() == ("n/a", ["container is down"])
