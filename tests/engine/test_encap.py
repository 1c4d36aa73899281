"""Encapsulation through a simulated OpenVZ container (docs/encapsulation-and-cluster.md §1): the host
engine starts the container, then the engine inside it (a real osvc-engine with its own root and
journal, reached through `vzctl exec`, whose simulated guest runs command lines for real) acts on the
encap resources. The LXC tests (tests/engine/test_encap_lxc.py) do the same with a real container."""

import json
import os
import time

import pytest

from core.lineage import PARENT_ENV
from tests.helpers.cli import COMMAND, journal_rows, osvc, write_launcher
from tests.helpers.launchers import SCRIPT
from tests.helpers.sim import SIM_BIN, sim_node_conf

ENV = """\
[DEFAULT]
nodes = node1
encapnodes = vm1
nodes@encapnodes = vm1

[container#1]
type = vz
name = 101

[app#1]
tags = encap
script = db
start = 10
stop = 10
check = 10

[app#2]
script = web
start = 20
stop = 20
check = 20
"""


class Pair:
    """The host root, the guest's root (inside its userland folder) and where each launcher keeps state."""

    def __init__(self, tmp_path, osvc_root, sim, engine=None, env=ENV, wrap=()):
        self.host, self.sim, self.wrap = osvc_root, sim, wrap
        self.userland = tmp_path / "vm1"
        self.guest = self.userland / "var" / "lib" / "osvc-engine"
        for sub in ("etc", "var", "log"):
            (self.guest / sub).mkdir(parents=True)
        self.state = tmp_path / "state"
        self.state.mkdir()
        # the engine installed in the guest: its own root and node name, whatever the caller's environment
        wrapper = self.userland / "usr" / "bin" / "osvc-engine"
        write_launcher(wrapper, f'OSVC_ROOT={self.guest} OSVC_NODENAME=vm1 exec {" ".join(COMMAND)} "$@"')
        sim_node_conf(osvc_root, sim)
        conf = osvc_root / "etc" / "node.conf"
        conf.write_text(conf.read_text().replace(
            "[container]\n", f"[container]\nguest_engine = {engine or wrapper}\nguest_timeout = 60\n", 1))
        cf = sim.root / "etc" / "vz" / "conf" / "101.conf"
        cf.parent.mkdir(parents=True, exist_ok=True)
        cf.write_text('ONBOOT="no"\nVE_ROOT="/vz/root/$VEID"\nVE_PRIVATE="/vz/private/$VEID"\n')
        if "type = kvm" in env:
            from tests.drivers.test_containers_xen import write_kvm_xml

            write_kvm_xml(sim, "vm1")
            sim.vmsim("define", "kvm", "vm1", "--set", f"userland={self.userland}")
        else:
            sim.vmsim("define", "vz", "101", "--set", f"userland={self.userland}")
        (osvc_root / "etc" / "svc.env").write_text(env)
        write_launcher(osvc_root / "etc" / "svc.d" / "web", SCRIPT.format(state=self.state, name="web"))
        write_launcher(self.guest / "etc" / "svc.d" / "db", SCRIPT.format(state=self.state, name="db"))

    def host_cli(self, *args):
        return osvc(self.host, "-s", "svc", *args, env=self.sim.env, wrap=self.wrap)

    def guest_cli(self, *args):
        return osvc(self.guest, "-s", "svc", *args, node="vm1")

    def running(self):
        return sorted(p.name for p in self.state.iterdir() if "." not in p.name)

    def host_rows(self, **kw):
        return journal_rows(self.host, **kw)

    def guest_rows(self, **kw):
        return journal_rows(self.guest, **kw)


@pytest.fixture
def pair(tmp_path, osvc_root, sim):
    return Pair(tmp_path, osvc_root, sim)


def transitions(rows, action_id):
    return [(r["rid"], r["dst"]) for r in rows if r["kind"] == "transition" and r["action_id"] == action_id]


def begin_of(rows):
    return [r for r in rows if (r["kind"], r["event"]) == ("action", "begin")][-1]


def test_start_runs_the_guest_engine_after_the_host_apps_under_the_same_action(pair):
    r = pair.host_cli("start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert pair.running() == ["db", "web"]
    # the guest's log lines come through under the encap step; the hlc hand-back is machinery, not shown
    assert "SVC.ENCAP:CONTAINER#1 output:\n" in r.stdout and "INFO    SVC.APP#1   " in r.stdout
    assert "osvc-last-hlc" not in r.stdout + r.stderr
    host = pair.host_rows()
    aid = begin_of(host)["action_id"]
    steps = [x for x in transitions(host, aid) if x[0]]
    assert steps == [("container#1", "starting"), ("container#1", "wait-up"), ("container#1", "wait-ping"),
                     ("container#1", "wait-operational"), ("container#1", "up"), ("app#2", "starting"),
                     ("app#2", "up"), ("encap:container#1", "starting"), ("encap:container#1", "up")]
    # the env file went to the guest first (newest wins: the guest had none), keeping the host's mtime
    sent = [x for x in host if (x["kind"], x["event"]) == ("encap", "send")]
    assert len(sent) == 1 and sent[0]["payload"]["container"] == "101"
    assert (pair.guest / "etc" / "svc.env").read_text() == ENV
    assert int(os.stat(pair.guest / "etc" / "svc.env").st_mtime) == int(os.stat(pair.host / "etc" / "svc.env").st_mtime)
    # the guest's command: clean environment, this action's id and parent, journaled with its rc
    cmd = [x for x in host if x["kind"] == "command" and x["rid"] == "encap:container#1"
           and x["payload"]["argv"][-1] == "start"][0]
    argv = cmd["payload"]["argv"]
    assert argv[:5] == ["vzctl", "exec", "101", "env", "-i"] and argv[-3:] == ["-s", "svc", "start"], argv
    assert f"OSVC_ACTION_ID={aid}" in argv and cmd["payload"]["rc"] == 0
    # the guest journaled its own action under the host's id, with the launching record as parent
    guest = pair.guest_rows()
    gbegin = begin_of(guest)
    assert gbegin["action_id"] == aid and gbegin["node"] == "vm1"
    launching = [x for x in host if x["rid"] == "encap:container#1" and x["event"] == "launch"][0]
    assert launching["payload"] == {"argv": ["start"], "to": "101"}
    parent = gbegin["payload"]["parent"]
    assert (parent["node"], parent["seq"], parent["hlc"]) == ("node1", launching["seq"], launching["hlc"])
    assert transitions(guest, aid) == [("", "starting"), ("app#1", "starting"), ("app#1", "up"), ("", "started")]
    # causality: every guest record orders after the launching one, the host's later records after the guest's
    assert all(x["hlc"] > launching["hlc"] for x in guest if x["action_id"] == aid)
    ended = [x for x in host if x["rid"] == "encap:container#1" and x.get("dst") == "up"][0]
    assert ended["hlc"] > max(x["hlc"] for x in guest if x["action_id"] == aid)


def test_the_host_tree_folds_the_guest_and_the_guest_shows_its_own_view(pair):
    assert pair.host_cli("start").returncode == 0
    host = pair.host_cli("print", "status").stdout
    assert host == (
        "svc\n"
        "overall                   up\n"
        "|- avail                  up\n"
        "|  |- container#1    .... up       101\n"
        "|  |  '- app#1       ...E up       db\n"
        "|  '- app#2          .... up       web\n"
        "|- sync                   n/a\n"
        "'- hb                     n/a\n")
    guest = pair.guest_cli("print", "status").stdout
    assert guest == (
        "svc\n"
        "overall                   up\n"
        "|- avail                  up\n"
        "|  '- app#1          ...E up       db\n"
        "|- sync                   n/a\n"
        "'- hb                     n/a\n")
    doc = json.loads(pair.host_cli("print", "status", "--format", "json").stdout)
    assert doc["encap"]["101"]["nodename"] == "vm1" and doc["encap"]["101"]["avail"] == "up"


def test_stop_runs_the_guest_first_and_a_stopped_container_is_forged_down(pair):
    assert pair.host_cli("start").returncode == 0
    r = pair.host_cli("stop")
    assert r.returncode == 0, r.stdout + r.stderr
    assert pair.running() == []
    host = pair.host_rows()
    aid = begin_of(host)["action_id"]
    order = [rid for rid, dst in transitions(host, aid) if rid and dst in ("stopping",)]
    assert order == ["encap:container#1", "app#2", "container#1"]
    assert begin_of(pair.guest_rows())["action_id"] == aid
    tree = pair.host_cli("print", "status").stdout
    assert "|  |- container#1    .... down     101\n|  |  '- app#1       ...E n/a      db\n" in tree
    assert tree.startswith("svc\noverall                   down\n")


def test_a_failing_guest_start_rolls_back_the_guest_then_the_host(pair):
    (pair.state / "db.fail").touch()
    r = pair.host_cli("start")
    assert r.returncode == 1
    assert "error from encap service command 'start' in container 101: rc 1" in r.stderr + r.stdout
    assert pair.running() == []
    host = pair.host_rows()
    aid = begin_of(host)["action_id"]
    steps = [(rid, dst) for rid, dst in transitions(host, aid) if rid]
    assert ("encap:container#1", "start-failed") in steps and steps[-1] == ("container#1", "down")
    assert steps.index(("encap:container#1", "start-failed")) < steps.index(("app#2", "stopping")) \
        < steps.index(("container#1", "stopping"))
    # the guest's start failed and ended before the host rolled back (its own rollback had nothing to undo)
    assert transitions(pair.guest_rows(), aid) == [("", "starting"), ("app#1", "starting"), ("app#1", "start-failed"),
                                                   ("", "start-failed")]


def test_sub_actions_need_a_specifier_and_each_half_runs_alone(pair):
    assert pair.host_cli("start", "--master").returncode == 0
    assert pair.running() == ["web"]
    assert not (pair.guest / "var" / "journal.db").exists()      # --master: the guest was left alone
    r = pair.host_cli("startapp")
    assert r.returncode != 0 and "specify either --master, --slave(s) or both (startapp)" in r.stderr
    r = pair.host_cli("stopapp", "--master")
    assert r.returncode == 0 and pair.running() == []
    r = pair.host_cli("startapp", "--slave", "101")
    assert r.returncode == 0, r.stderr
    assert pair.running() == ["db"]
    r = pair.host_cli("startapp", "--slave", "vm9")
    assert r.returncode != 0 and "--slave vm9: not a container of svc with encap resources" in r.stderr
    # scoped to host resources only: the guests are skipped, saying why
    r = pair.host_cli("startapp", "--rid", "app#2")
    assert r.returncode == 0 and "skip action on slaves: no encap resources are selected" in r.stdout + r.stderr
    assert pair.running() == ["db", "web"]


def test_a_guest_without_its_engine_fails_the_start_and_shows_na(tmp_path, osvc_root, sim):
    pair = Pair(tmp_path, osvc_root, sim, engine="/nonexistent/osvc-engine")
    r = pair.host_cli("start")
    assert r.returncode == 1
    assert "cannot join the guest engine of container 101: '/nonexistent/osvc-engine' not found in the guest " \
           "(rc 127)" in r.stderr + r.stdout
    pair.host_cli("start", "--master")
    tree = pair.host_cli("print", "status", "--refresh").stdout
    # never answered: all n/a, labelled by the host's config (the guest never told its labels)
    assert "|  |- container#1    .... up       101\n|  |  '- app#1       ...E n/a      app#1\n" in tree
    # a stop goes on without the unjoinable guest (1.8: excEncapUnjoinable continues)
    r = pair.host_cli("stop")
    assert r.returncode == 0 and "stop goes on without the guest" in r.stdout + r.stderr


def test_push_newest_wins_both_ways_and_each_transfer_is_journaled(pair):
    assert pair.host_cli("start", "--master").returncode == 0
    host_env, guest_env = pair.host / "etc" / "svc.env", pair.guest / "etc" / "svc.env"
    r = pair.host_cli("push")
    assert r.returncode == 0 and f"send {host_env} to 101" in r.stdout
    # an edit in the guest, newer: fetched, and the host copy takes the guest's mtime
    guest_env.write_text(ENV + "\n# edited in the guest\n")
    later = time.time() + 5
    os.utime(guest_env, (later, later))
    r = pair.host_cli("push")
    assert r.returncode == 0 and f"fetch {host_env} from 101" in r.stdout
    assert host_env.read_text().endswith("# edited in the guest\n")
    assert int(os.stat(host_env).st_mtime) == int(later)
    assert "send" not in pair.host_cli("push").stdout       # equal now: nothing moves
    kinds = [(x["event"], x["payload"]["container"]) for x in pair.host_rows() if x["kind"] == "encap"]
    assert kinds == [("send", "101"), ("fetch", "101")]


def test_the_guest_refuses_to_start_its_own_container(pair):
    """Inside the guest the engine builds only the encap resources: no container to start."""
    (pair.guest / "etc" / "svc.env").write_text(ENV)
    r = pair.guest_cli("start")
    assert r.returncode == 0, r.stderr
    assert pair.running() == ["db"]
    assert [x for x in pair.guest_rows() if x["rid"] == "container#1"] == []
    assert PARENT_ENV not in os.environ


def test_the_guest_document_the_host_folded_is_journaled_once_per_change(pair):
    assert pair.host_cli("start").returncode == 0
    observed = [x for x in pair.host_rows() if x["event"] == "guest-status"]
    assert len(observed) == 1 and observed[0]["rid"] == "101"
    doc = observed[0]["payload"]["document"]
    assert (doc["nodename"], doc["avail"], doc["resources"]["app#1"]["status"]) == ("vm1", "up", "up")
    pair.host_cli("print", "status", "--refresh")          # the same answer: nothing new journaled
    assert len([x for x in pair.host_rows() if x["event"] == "guest-status"]) == 1


def test_each_level_evaluates_the_same_config_its_own_way(pair):
    (pair.guest / "etc" / "svc.env").write_text(ENV)
    assert pair.host_cli("get", "--param", "DEFAULT.nodes", "--eval").stdout == "node1\n"
    assert pair.guest_cli("get", "--param", "DEFAULT.nodes", "--eval").stdout == "vm1\n"
    assert pair.guest_cli("validate", "config").returncode == 0


FARM = """\
[DEFAULT]
nodes = node1
encapnodes = vm1 vm2
nodes@encapnodes = vm1 vm2
cluster_type@encapnodes = flex

[container#1]
type = vz
name = 101

[container#2]
type = vz
name = 102

[app#1]
tags = encap
script = db
start = 10
stop = 10
check = 10
"""


def test_a_farm_of_guests_gets_one_step_per_container_in_order(tmp_path, osvc_root, sim):
    """Two containers, each running its guest engine (the seed's farmed guests)."""
    pair = Pair(tmp_path, osvc_root, sim)
    second = tmp_path / "vm2"
    guest2 = second / "var" / "lib" / "osvc-engine"
    for sub in ("etc", "var", "log"):
        (guest2 / sub).mkdir(parents=True)
    write_launcher(second / "usr" / "bin" / "osvc-engine",
                   f'OSVC_ROOT={guest2} OSVC_NODENAME=vm2 exec {" ".join(COMMAND)} "$@"')
    write_launcher(guest2 / "etc" / "svc.d" / "db", SCRIPT.format(state=pair.state, name="db2"))
    # one engine path for both guests: each userland has its own at the same path, as two real VMs would
    conf = osvc_root / "etc" / "node.conf"
    conf.write_text(conf.read_text().replace(f"guest_engine = {pair.userland}/usr/bin/osvc-engine",
                                             "guest_engine = ./usr/bin/osvc-engine"))
    sim.vmsim("define", "vz", "102", "--set", f"userland={second}")
    cf = sim.root / "etc" / "vz" / "conf" / "102.conf"
    cf.write_text('ONBOOT="no"\nVE_ROOT="/vz/root/$VEID"\nVE_PRIVATE="/vz/private/$VEID"\n')
    (osvc_root / "etc" / "svc.env").write_text(FARM)
    r = pair.host_cli("start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert pair.running() == ["db", "db2"]
    host = pair.host_rows()
    aid = begin_of(host)["action_id"]
    assert [rid for rid, dst in transitions(host, aid) if dst == "up"] == \
        ["container#1", "container#2", "encap:container#1", "encap:container#2"]
    assert begin_of(journal_rows(guest2))["action_id"] == aid
    # each guest sees the farm's nodes, and a config replication between the guests (sync#i0)
    doc = json.loads(osvc(guest2, "-s", "svc", "print", "status", "--format", "json", node="vm2").stdout)
    assert sorted(doc["resources"]) == ["app#1", "sync#i0"]
    assert osvc(guest2, "-s", "svc", "get", "--param", "DEFAULT.nodes", "--eval", node="vm2").stdout == "vm1 vm2\n"
    r = pair.host_cli("stop")
    assert r.returncode == 0 and pair.running() == []
    aid = begin_of(pair.host_rows())["action_id"]
    assert [rid for rid, dst in transitions(pair.host_rows(), aid) if rid and dst == "stopping"] == \
        ["encap:container#2", "encap:container#1", "container#2", "container#1"]


def test_an_encap_step_a_crash_interrupted_is_recovered_from_the_guests_answer(pair):
    assert "skip push to 101: the container is not running here" in pair.host_cli("push").stdout
    assert pair.host_cli("start", "--master").returncode == 0
    assert pair.host_cli("push").returncode == 0              # the guest has the env file: it can answer
    assert pair.host_cli("stop", "--master").returncode == 0
    # killed right after journaling the encap step's begin (the 9th transition of this start)
    r = osvc(pair.host, "-s", "svc", "start", env={**pair.sim.env, "OSVC_CRASH_AT_TRANSITION": "9"})
    assert r.returncode == -9
    host = pair.host_rows()
    assert [(x["rid"], x["dst"]) for x in host if x["kind"] == "transition"][-1] == ("encap:container#1", "starting")
    r = pair.host_cli("recover")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "encap:container#1: starting -> down (probed down)" in r.stdout
    end = [x for x in pair.host_rows() if (x["kind"], x["event"]) == ("action", "end")][-1]
    assert end["payload"]["outcome"] == "interrupted"
    assert end["payload"]["recovered"]["encap:container#1"] == ["starting", "down", "down"]


def test_a_failing_guest_stop_aborts_the_host_stop_and_the_container_stays_up(pair):
    assert pair.host_cli("start").returncode == 0
    write_launcher(pair.guest / "etc" / "svc.d" / "db", 'case "$1" in stop) echo "db will not stop" >&2; exit 1;; '
                   'status) true;; esac')
    r = pair.host_cli("stop")
    assert r.returncode == 1
    assert "error from encap service command 'stop' in container 101: rc 1" in r.stdout + r.stderr
    host = pair.host_rows()
    aid = begin_of(host)["action_id"]
    assert [(rid, dst) for rid, dst in transitions(host, aid) if rid] == \
        [("encap:container#1", "stopping"), ("encap:container#1", "stop-failed")]
    assert pair.sim.show("vz", "101")["state"] == "running" and pair.running() == ["db", "web"]


@pytest.mark.root
def test_a_kvm_guest_is_reached_over_ssh_with_its_words_quoted(tmp_path, osvc_root, sim, vm_netns):
    """kvm's runmethod is the node's rsh (ssh ... -- vm1): ssh joins its words into one remote shell line,
    so each word goes quoted (a --tags a+b or a path with a space would otherwise be split or read)."""
    ns, add_host = vm_netns
    add_host("vm1", "10.77.0.5")
    env = ENV.replace("type = vz\nname = 101", "type = kvm\nname = vm1")
    pair = Pair(tmp_path, osvc_root, sim, env=env, wrap=("ip", "netns", "exec", ns))
    conf = osvc_root / "etc" / "node.conf"       # a guest PATH with a space: one word only when quoted
    conf.write_text(conf.read_text().replace("[container]\n", "[container]\nguest_path = /usr/bin:/bin:/opt/my tools\n"))
    r = pair.host_cli("start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert pair.running() == ["db", "web"]
    cmd = [x for x in pair.host_rows(kind="command") if x["rid"] == "encap:container#1"][-1]["payload"]["argv"]
    at = cmd.index("--")
    assert cmd[:2] == [str(SIM_BIN / "ssh"), "-q"] and cmd[at:at + 4] == ["--", "vm1", "env", "-i"]
    assert cmd[-3:] == ["-s", "svc", "start"]
    assert begin_of(pair.guest_rows())["action_id"] == begin_of(pair.host_rows())["action_id"]
    r = pair.host_cli("stopapp", "--slaves", "--tags", "encap")
    assert r.returncode == 0, r.stdout + r.stderr
    argv = [x for x in pair.host_rows(kind="command") if x["rid"] == "encap:container#1"][-1]["payload"]["argv"]
    assert argv[-5:] == ["-s", "svc", "--tags", "encap", "stopapp"]
    assert pair.running() == ["web"]
    assert pair.host_cli("stop").returncode == 0 and pair.running() == []


def test_a_dry_run_shows_the_guest_engines_own_plan_and_touches_nothing(pair):
    assert pair.host_cli("start", "--master").returncode == 0
    assert pair.host_cli("push").returncode == 0
    before = len(pair.guest_rows())
    r = pair.host_cli("start", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "svc: start\n"
        "  start container#1    up -> starting -> wait-up -> wait-ping -> wait-operational -> up\n"
        "  start app#2          up -> starting -> up\n"
        "  start encap:container#1 the engine in 101 (container#1):\n"
        "    svc: start\n"
        "      start app#1          down -> starting -> up\n")
    assert pair.running() == ["web"] and len(pair.guest_rows()) == before


def test_the_guest_journal_is_mirrored_after_its_command_and_the_cluster_audit_nests_it(pair):
    r = pair.host_cli("start")
    assert r.returncode == 0, r.stderr
    aid = begin_of(pair.host_rows())["action_id"]
    # the mirror is named after the guest's node name (the service's one encapnode), as its records are
    assert len(list((pair.host / "var" / "mirrors").glob("vm1.*.db"))) == 1
    tail = osvc(pair.host, "journal", "tail", "--cluster", "--no-pull", "-n", "all", "-o", "json",
                env=pair.sim.env)
    assert tail.returncode == 0, tail.stderr
    rows = [json.loads(line) for line in tail.stdout.splitlines() if line.strip()]
    mine = [(x["node"], x["rid"], x.get("dst")) for x in rows if x["action_id"] == aid and x["kind"] == "transition"]
    # one timeline: the host's launch of the guest, the guest's app, then the host's step ending up
    assert mine.index(("node1", "encap:container#1", "starting")) < mine.index(("vm1", "app#1", "up")) \
        < mine.index(("node1", "encap:container#1", "up"))
    # one audit entry for both levels: the guest's action nested under the host's launch record
    audit = osvc(pair.host, "journal", "audit", "--cluster", "--no-pull", "-s", "svc", env=pair.sim.env).stdout
    launch = audit.index("svc.encap:container#1    launch")
    assert audit.index("      svc start: ok after", launch) > launch
    assert f"[act:{aid[:8]}] on vm1\n" in audit[launch:]


def test_journal_pull_reaches_the_running_guests_too(pair):
    assert pair.host_cli("start", "--master").returncode == 0
    assert pair.host_cli("push").returncode == 0
    # an action of the guest's own, not launched by the host: only a pull brings it
    (pair.guest / "etc" / "svc.env").write_text(ENV)
    assert pair.guest_cli("startapp").returncode == 0
    r = osvc(pair.host, "journal", "pull", env=pair.sim.env)
    assert r.returncode == 0, r.stderr
    added = int(r.stdout.split("node vm1: ")[1].split(" new records")[0])
    assert added == len(pair.guest_rows())
    r = osvc(pair.host, "journal", "pull", "--node", "vm1", env=pair.sim.env)
    assert r.returncode == 0 and "node vm1: 0 new records" in r.stdout


@pytest.mark.parametrize("line, skipped", [
    ("autostart_node@101 = 101", True),          # scoped to the container, naming it
    ("autostart_node@encapnodes = encapnodes", True),
    ("autostart_node = node1", False),           # the hypervisor autostarts: the host runs the guest's start
])
def test_a_guest_that_starts_its_service_on_boot_is_left_to_it(tmp_path, osvc_root, sim, line, skipped):
    """b1.8 need_start_encap: autostart_node naming the container (or encapnodes) means the guest's own boot
    starts its service; the host's start skips the guest, its other actions do not."""
    pair = Pair(tmp_path, osvc_root, sim, env=ENV.replace("encapnodes = vm1\n", f"encapnodes = vm1\n{line}\n", 1))
    r = pair.host_cli("start")
    assert r.returncode == 0, r.stdout + r.stderr
    said = "skip start in container 101: the encap service is configured to start on container boot." in r.stdout
    assert said is skipped
    assert pair.running() == (["web"] if skipped else ["db", "web"])
    r = pair.host_cli("startapp", "--slaves")
    assert r.returncode == 0 and pair.running() == ["db", "web"]
