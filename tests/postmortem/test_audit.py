"""`journal audit`: exact output over a journal of real actions (app launchers, through the real CLI), and
over synthetic records for what cannot run here yet (a VM's phases, a migration, a failover, a crash
recovered). Real runs have real times: those tests mask times, durations, pids and action ids, and check
the durations separately against the records they come from. The real history is made once per module
(the tests only read it).
"""

import json
import re

import pytest

from core.errors import UsageError
from postmortem import audit
from journal import lines as fmt
from tests.helpers import journal_scenarios as js
from tests.helpers.cli import journal_rows, osvc

def mask(text, root):
    """What changes from run to run: times, durations, pids, action ids, the test's folder, the user."""
    import getpass

    text = text.replace(str(root), "$ROOT")
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", "DATE TIME", text)
    text = re.sub(r"\b\d\d:\d\d:\d\d\.\d{3}\b", "TIME", text)
    text = re.sub(r"(?<![\w.])(<1ms|\d+ms|\d+\.\d\ds|\d+m\d\ds)\b", "D", text)
    text = re.sub(r"\bpid[ =]\d+", "pid N", text)
    text = re.sub(r"\[act:[0-9a-f]{8}\]", "[act:ID]", text)
    text = re.sub(r"digest [0-9a-f]{12}", "digest HEX", text)
    return re.sub(rf"(?m)^(  who +){re.escape(getpass.getuser())} ", r"\1USER ", text)


AUDIT_REAL = """\
web start: ok after D [act:ID]
  kind        start
  who         USER (pid N)
  where       node1
  when        DATE TIME -> TIME
  argv        osvc-engine -s web start
  config      env file changed, digest HEX
  status      up after the action
  resources   web    starting D -> started
              app#1  starting D -> up
              app#2  starting D -> up
              app#3  starting D -> up
  timeline
    TIME node1    web                      start          idle -> starting       action=start [act:ID]
    TIME node1    web.app#1                start          down -> starting       [act:ID]
    TIME node1    web.app#1                a                                     $ $ROOT/etc/web.d/a start rc=0 D pid N [act:ID]
    TIME node1    web.app#1                started        starting -> up         D [act:ID]
    TIME node1    web.app#2                start          down -> starting       [act:ID]
    TIME node1    web.app#2                b                                     $ $ROOT/etc/web.d/b start rc=0 D pid N [act:ID]
    TIME node1    web.app#2                started        starting -> up         D [act:ID]
    TIME node1    web.app#3                start          down -> starting       [act:ID]
    TIME node1    web.app#3                c                                     $ $ROOT/etc/web.d/c start rc=0 D pid N [act:ID]
    TIME node1    web.app#3                started        starting -> up         D [act:ID]
    TIME node1    web                      started        starting -> started    [act:ID]

web stop: ok after D [act:ID]
  kind        stop
  who         USER (pid N)
  where       node1
  when        DATE TIME -> TIME
  argv        osvc-engine -s web stop
  status      down after the action
  resources   web    stopping D -> stopped
              app#3  stopping D -> down
              app#2  stopping D -> down
              app#1  stopping D -> down
  timeline
    TIME node1    web                      stop           started -> stopping    action=stop [act:ID]
    TIME node1    web.app#3                stop           up -> stopping         [act:ID]
    TIME node1    web.app#3                c                                     $ $ROOT/etc/web.d/c stop rc=0 D pid N [act:ID]
    TIME node1    web.app#3                stopped        stopping -> down       D [act:ID]
    TIME node1    web.app#2                stop           up -> stopping         [act:ID]
    TIME node1    web.app#2                b                                     $ $ROOT/etc/web.d/b stop rc=0 D pid N [act:ID]
    TIME node1    web.app#2                stopped        stopping -> down       D [act:ID]
    TIME node1    web.app#1                stop           up -> stopping         [act:ID]
    TIME node1    web.app#1                a                                     $ $ROOT/etc/web.d/a stop rc=0 D pid N [act:ID]
    TIME node1    web.app#1                stopped        stopping -> down       D [act:ID]
    TIME node1    web                      stopped        stopping -> stopped    [act:ID]

web start: failed after D [act:ID]
  kind        start, rollback
  who         USER (pid N)
  where       node1
  when        DATE TIME -> TIME
  argv        osvc-engine -s web start
  error       c start failed
  rollback    undid app#2 (down), app#1 (down): rolled_back
  resources   web    starting D -> start-failed FAILED: c start failed, rolling-back D -> start-failed
              app#1  starting D -> up, stopping D -> down
              app#2  starting D -> up, stopping D -> down
              app#3  starting D -> start-failed FAILED: c start failed
  timeline
    TIME node1    web                      start          stopped -> starting    action=start [act:ID]
    TIME node1    web.app#1                start          down -> starting       [act:ID]
    TIME node1    web.app#1                a                                     $ $ROOT/etc/web.d/a start rc=0 D pid N [act:ID]
    TIME node1    web.app#1                started        starting -> up         D [act:ID]
    TIME node1    web.app#2                start          down -> starting       [act:ID]
    TIME node1    web.app#2                b                                     $ $ROOT/etc/web.d/b start rc=0 D pid N [act:ID]
    TIME node1    web.app#2                started        starting -> up         D [act:ID]
    TIME node1    web.app#3                start          down -> starting       [act:ID]
    TIME node1    web.app#3                c                                     $ $ROOT/etc/web.d/c start rc=1 D out_tail="c cannot start\\n" pid N [act:ID]
    TIME node1    web.app#3                start_failed   starting -> start-failed D reason: c start failed [act:ID]
    TIME node1    web                      start_failed   starting -> start-failed reason: c start failed [act:ID]
    TIME node1    web                      rollback       start-failed -> rolling-back [act:ID]
    TIME node1    web.app#2                stop           up -> stopping         [act:ID]
    TIME node1    web.app#2                b                                     $ $ROOT/etc/web.d/b stop rc=0 D pid N [act:ID]
    TIME node1    web.app#2                stopped        stopping -> down       D [act:ID]
    TIME node1    web.app#1                stop           up -> stopping         [act:ID]
    TIME node1    web.app#1                a                                     $ $ROOT/etc/web.d/a stop rc=0 D pid N [act:ID]
    TIME node1    web.app#1                stopped        stopping -> down       D [act:ID]
    TIME node1    web                      rolled_back    rolling-back -> start-failed [act:ID]

web start: refused [act:ID]
  kind        start
  who         USER (pid N)
  where       node1
  when        DATE TIME
  argv        osvc-engine -s web start
  refused     Abort action 'start' for frozen service. Use --force to override.
"""


def test_audit_of_real_actions_is_exact(history):
    r = osvc(history, "journal", "audit", "-s", "web")
    assert r.returncode == 0, r.stderr
    assert mask(r.stdout, history) == AUDIT_REAL


def test_real_durations_are_the_executor_measures(history):
    """Each phase's duration is the `duration` its closing transition carries; each command's is its own."""
    r = osvc(history, "journal", "audit", "-s", "web", "--format", "json")
    entries = json.loads(r.stdout)
    closing = {(t["rid"], t["seq"]): t["payload"].get("duration")
               for e in entries for t in e["transitions"]}
    rows = journal_rows(history, svc="web", kind="transition")
    measured = [(row["rid"], row["payload"]["duration"]) for row in rows if "duration" in row["payload"]]
    phases = [(p["rid"], p["duration"]) for e in entries for p in e["phases"] if p["rid"]]
    assert phases == measured and len(measured) == 3 + 3 + 5
    assert all(d is None or d >= 0 for d in closing.values())
    commands = [(c["rid"], c["argv"][-1], c["rc"]) for c in entries[2]["commands"]]
    assert commands == [("app#1", "start", 0), ("app#2", "start", 0), ("app#3", "start", 1),
                        ("app#2", "stop", 0), ("app#1", "stop", 0)]
    ran = journal_rows(history, svc="web", kind="command")
    assert [c["duration"] for e in entries for c in e["commands"]] == [c["payload"]["duration"] for c in ran]
    assert entries[2]["rollback"] == {"undid": [{"rid": "app#2", "state": "down"}, {"rid": "app#1", "state": "down"}],
                                      "outcome": "rolled_back"}
    assert [(e["action"], e["outcome"], e["kinds"]) for e in entries] == [
        ("start", "ok", ["start"]), ("stop", "ok", ["stop"]), ("start", "failed", ["start", "rollback"]),
        ("start", "refused", ["start"])]
    begin = journal_rows(history, svc="web", kind="action")[0]
    assert entries[0]["pid"] == begin["payload"]["pid"] and entries[0]["user"] == begin["payload"]["user"]


def test_kind_and_since_select_entries(history):
    def actions(*args):
        r = osvc(history, "journal", "audit", "-s", "web", "--format", "json", *args)
        assert r.returncode == 0, r.stderr
        return [(e["action"], e["outcome"]) for e in json.loads(r.stdout)]

    assert actions("--kind", "rollback") == [("start", "failed")]
    assert actions("--kind", "stop") == [("stop", "ok")]
    assert actions("--kind", "migration") == []
    assert actions("--since", "1h") == actions()
    r = osvc(history, "journal", "audit", "--since", "2100-01-01")
    assert (r.returncode, r.stdout) == (0, "no action matches\n")
    r = osvc(history, "journal", "audit", "--kind", "reboot")
    assert r.returncode == 2 and "invalid choice: 'reboot'" in r.stderr


def test_since_leaves_out_an_action_begun_before(node, utc):
    w = js.Writer(node.journal_path)
    js.vm_start(w)
    js.vm_migrate(w)
    since = js.T0 + 3_000_000_000          # in the middle of the start
    found = audit.entries(w.journal, since_ns=since)
    assert [e.action for e in found] == ["migrate"]
    w.close()


def test_unknown_kind_is_refused_by_the_api(node):
    w = js.Writer(node.journal_path)
    with pytest.raises(UsageError, match="unknown audit kind 'reboot': use one of start, stop, failover"):
        audit.entries(w.journal, kind="reboot")
    w.close()


AUDIT_VM = """\
vm1 start: ok after 5.91s [act:a1a1a1a1]
  kind        start
  who         admin (pid 4242)
  where       node1
  when        2024-05-01 10:54:49.000 -> 10:54:54.912
  argv        osvc-engine -s vm1 start --cluster
  resources   vm1          starting 5.91s -> started
              ip#1         starting 46ms -> up
              container#1  starting 1.20s, wait-up 1.20s, wait-ping 2.31s, wait-operational 400ms -> up
              hb#1         ha-enabling 735ms -> ha-enabled
  timeline
    10:54:49.005 node1    vm1                      start          idle -> starting       action=start [act:a1a1a1a1]
    10:54:49.006 node1    vm1.ip#1                 start          down -> starting       [act:a1a1a1a1]
    10:54:49.050 node1    vm1.ip#1                 ip                                    $ ip addr add 10.0.0.5/24 dev eth0 rc=0 20ms pid=900 [act:a1a1a1a1]
    10:54:49.052 node1    vm1.ip#1                 started        starting -> up         46ms [act:a1a1a1a1]
    10:54:49.053 node1    vm1.container#1          start          down -> starting       [act:a1a1a1a1]
    10:54:50.253 node1    vm1.container#1          ovm                                   $ ovm -u admin vm start -n vm1 rc=0 1.20s out_tail="Status: Success\\n" pid=900 [act:a1a1a1a1]
    10:54:50.255 node1    vm1.container#1          wait_up        starting -> wait-up    1.20s [act:a1a1a1a1]
    10:54:51.455 node1    vm1.container#1          wait_ping      wait-up -> wait-ping   1.20s [act:a1a1a1a1]
    10:54:53.765 node1    vm1.container#1          wait_operational wait-ping -> wait-operational 2.31s [act:a1a1a1a1]
    10:54:53.800 node1    vm1.container#1          ssh                                   $ ssh vm1 pwd rc=0 30ms out_tail="/root\\n" pid=900 [act:a1a1a1a1]
    10:54:54.165 node1    vm1.container#1          started        wait-operational -> up 400ms [act:a1a1a1a1]
    10:54:54.170 node1    vm1.hb#1                 enable         ha-disabled -> ha-enabling [act:a1a1a1a1]
    10:54:54.900 node1    vm1.hb#1                 ovm                                   $ ovm -u admin vm conf -e -n vm1 rc=0 700ms pid=900 [act:a1a1a1a1]
    10:54:54.905 node1    vm1.hb#1                 enabled        ha-enabling -> ha-enabled 735ms [act:a1a1a1a1]
    10:54:54.910 node1    vm1                      started        starting -> started    [act:a1a1a1a1]
"""

AUDIT_MIGRATE_SWITCH = """\
vm1 migrate: ok after 8.52s [act:b2b2b2b2]
  kind        migration
  who         admin (pid 4242)
  where       node1
  when        2024-05-01 10:54:59.000 -> 10:55:07.515
  argv        osvc-engine -s vm1 migrate --to node2
  resources   vm1          migrating 8.51s -> stopped
              container#1  migrating 8.50s -> down
  timeline
    10:54:59.004 node1    vm1                      migrate        started -> migrating   to=node2 action=migrate [act:b2b2b2b2]
    10:54:59.006 node1    vm1.container#1          migrate        up -> migrating        to=node2 [act:b2b2b2b2]
    10:55:07.506 node1    vm1.container#1          ovm                                   $ ovm -u admin vm migrate -n vm1 -s node2 rc=0 8.50s pid=900 [act:b2b2b2b2]
    10:55:07.510 node1    vm1.container#1          stopped        migrating -> down      8.50s [act:b2b2b2b2]
    10:55:07.512 node1    vm1                      stopped        migrating -> stopped   [act:b2b2b2b2]

vm1 switch: ok after 1m02s [act:c3c3c3c3]
  kind        failover
  who         admin (pid 4242)
  where       node1
  when        2024-05-01 10:55:09.000 -> 10:56:11.215
  argv        osvc-engine -s vm1 switch --to node2
  resources   vm1          switching 1m02s -> stopped
              hb#1         ha-disabling 400ms -> ha-disabled
              container#1  stopping 502ms, wait-down 1m00s, force-stopping 1.00s, wait-down 300ms -> down
  timeline
    10:55:09.003 node1    vm1                      switch         started -> switching   to=node2 action=switch [act:c3c3c3c3]
    10:55:09.005 node1    vm1.hb#1                 disable        ha-enabled -> ha-disabling [act:c3c3c3c3]
    10:55:09.405 node1    vm1.hb#1                 disabled       ha-disabling -> ha-disabled 400ms [act:c3c3c3c3]
    10:55:09.407 node1    vm1.container#1          stop           up -> stopping         [act:c3c3c3c3]
    10:55:09.907 node1    vm1.container#1          ovm                                   $ ovm -u admin vm stop -n vm1 rc=0 500ms pid=900 [act:c3c3c3c3]
    10:55:09.909 node1    vm1.container#1          wait_down      stopping -> wait-down  502ms [act:c3c3c3c3]
    10:56:09.909 node1    vm1.container#1          force_stop     wait-down -> force-stopping 1m00s [act:c3c3c3c3]
    10:56:10.909 node1    vm1.container#1          ovm                                   $ ovm -u admin vm kill -n vm1 rc=0 1.00s pid=900 [act:c3c3c3c3]
    10:56:10.910 node1    vm1.container#1          wait_down      force-stopping -> wait-down 1.00s [act:c3c3c3c3]
    10:56:11.210 node1    vm1.container#1          stopped        wait-down -> down      300ms [act:c3c3c3c3]
    10:56:11.212 node1    vm1                      stopped        switching -> stopped   [act:c3c3c3c3]
"""

AUDIT_RECOVERY = """\
vm1 start: interrupted after 1m33s [act:d4d4d4d4]
  kind        start, recovery
  who         admin (pid 4242)
  where       node1
  when        2024-05-01 10:56:29.000 -> 10:58:01.714
  argv        osvc-engine -s vm1 start
  interrupted its process 4242 is gone; recovered by root (pid 5151): osvc-engine -s vm1 recover
  recovery    container#1 wait-ping -> up (recover_up)
  recovery    vm1 starting -> started (recover_started)
  resources   vm1          starting 1m33s -> started (recovered)
              container#1  starting 1.20s, wait-up 1.20s, wait-ping 1m30s -> up (recovered)
  timeline
    10:56:29.005 node1    vm1                      start          stopped -> starting    action=start [act:d4d4d4d4]
    10:56:29.007 node1    vm1.container#1          start          down -> starting       [act:d4d4d4d4]
    10:56:30.207 node1    vm1.container#1          ovm                                   $ ovm -u admin vm start -n vm1 rc=0 1.20s pid=900 [act:d4d4d4d4]
    10:56:30.209 node1    vm1.container#1          wait_up        starting -> wait-up    1.20s [act:d4d4d4d4]
    10:56:31.409 node1    vm1.container#1          wait_ping      wait-up -> wait-ping   1.20s [act:d4d4d4d4]
    10:58:01.709 node1    vm1.container#1          recover_up     wait-ping -> up        reason: interrupted action d4d4d4d4d4d4d4d4: its process 4242 is gone status=up log=[] recovered_by={"pid":5151,"user":… [act:d4d4d4d4]
    10:58:01.711 node1    vm1                      recover_started starting -> started    reason: interrupted action d4d4d4d4d4d4d4d4: its process 4242 is gone recovered_by={"pid":5151,"user":"root","argv":["o… [act:d4d4d4d4]

vm1 stop: refused [act:f6f6f6f6]
  kind        stop
  who         root (pid 6161)
  where       node1
  when        2024-05-01 10:58:09.000
  argv        osvc-engine -s vm1 stop
  refused     this service is managed by a clusterware, thus direct service manipulation is disabled (stop).
"""


@pytest.fixture
def vm_journal(node, utc):
    w = js.Writer(node.journal_path)
    js.vm_start(w)
    js.vm_migrate(w)
    js.vm_switch(w)
    js.vm_crash_and_recover(w)
    js.refused(w)
    yield w.journal
    w.close()


def cli_audit(capsys, *argv):
    from postmortem import cli

    assert cli.main(["audit", *argv]) == 0
    return capsys.readouterr().out


def test_vm_phases_are_exact(vm_journal, capsys):
    out = cli_audit(capsys, "-s", "vm1", "--kind", "start")
    assert out == AUDIT_VM + "\n" + AUDIT_RECOVERY.split("\n\nvm1 stop")[0] + "\n"


def test_migration_and_failover_are_exact(vm_journal, capsys):
    assert cli_audit(capsys, "--kind", "migration") + "\n" + cli_audit(capsys, "--kind", "failover") \
        == AUDIT_MIGRATE_SWITCH


def test_interrupted_action_and_its_recovery_are_exact(vm_journal, capsys):
    out = cli_audit(capsys, "-s", "vm1", "--since", "2024-05-01T10:56:00+00:00")
    assert out == AUDIT_RECOVERY
    assert cli_audit(capsys, "--kind", "recovery") == AUDIT_RECOVERY.split("\n\nvm1 stop")[0] + "\n"


def test_vm_json_entry(vm_journal, capsys):
    entries = json.loads(cli_audit(capsys, "--format", "json", "--action", js.START))
    assert len(entries) == 1
    e = entries[0]
    assert (e["svc"], e["action"], e["outcome"], e["user"], e["pid"], e["node"]) == \
        ("vm1", "start", "ok", "admin", 4242, "node1")
    ctr = [(p["state"], p["duration"], p["dst"], p["failed"]) for p in e["phases"] if p["rid"] == "container#1"]
    assert ctr == [("starting", 1.202, "wait-up", False), ("wait-up", 1.2, "wait-ping", False),
                   ("wait-ping", 2.31, "wait-operational", False), ("wait-operational", 0.4, "up", False)]
    assert [(c["rid"], c["argv"][0], c["rc"], c["duration"]) for c in e["commands"]] == [
        ("ip#1", "ip", 0, 0.02), ("container#1", "ovm", 0, 1.2), ("container#1", "ssh", 0, 0.03),
        ("hb#1", "ovm", 0, 0.7)]
    assert e["begin_ns"] == js.T0 and e["end_ns"] == js.T0 + 5_912_000_000 and e["duration"] == 5.912


def test_timeline_lines_are_the_tail_lines(vm_journal):
    """The audit's phase lines and the tail's are one formatter's output (journal.lines.line)."""
    entry = audit.entries(vm_journal, action_id=js.START)[0]
    rows = vm_journal.read(action_id=js.START)
    assert entry.timeline() == [fmt.line(r) for r in rows if r["kind"] in ("transition", "command")]
