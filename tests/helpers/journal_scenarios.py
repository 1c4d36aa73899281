"""Synthetic journals for what real actions cannot produce here yet (a VM's phases, a migration, a
failover, a crash and its recovery), written through the real Journal with a scripted clock so the
audit's and the report's output are exact. The records are those engine/executor.py journals (same
kinds, events, machines and payload keys); only the times are chosen.
"""

import pytest

from journal.store import Journal
from tests.helpers.cli import osvc, write_launcher

# -- real actions on app launchers -----------------------------------------------------------------
SCRIPT = """\
f="{state}/{name}"
case "$1" in
  start) [ -e "$f.fail" ] && {{ echo "{name} cannot start" >&2; exit 1; }}; {pause}touch "$f" ;;
  stop) rm -f "$f" ;;
  status) [ -e "$f" ] ;;
esac
"""


def make_web(root, pause=None):
    """Service `web` of launchers app#1..3 (a, b, c) under node root `root`; `<name>.fail` in the
    returned state folder fails that start. `pause`: {name: shell run before that start succeeds}."""
    state = root / "state"
    state.mkdir()
    lines = ["[DEFAULT]", "nodes = node1", ""]
    for i, name in enumerate("abc", 1):
        write_launcher(root / "etc" / "web.d" / name, SCRIPT.format(state=state, name=name,
                                                                           pause=(pause or {}).get(name, "")))
        lines += [f"[app#{i}]", f"script = {name}", f"start = {i}0", f"stop = {i}0", f"check = {i}0", ""]
    (root / "etc" / "web.env").write_text("\n".join(lines))
    return state


def run_history(root, state):
    """start (ok), stop (ok), start failing on app#3 (rolled back), start refused (frozen)."""
    for argv in (("start",), ("stop",)):
        r = osvc(root, "-s", "web", *argv)
        assert r.returncode == 0, r.stdout + r.stderr
    (state / "c.fail").touch()
    assert osvc(root, "-s", "web", "start").returncode == 1
    assert osvc(root, "-s", "web", "freeze").returncode == 0
    assert osvc(root, "-s", "web", "start").returncode == 1


def short_root():
    """A node root whose path always has the same length (/tmp/osvc-audit-XXXXXXXX): journal lines
    cap their detail, and where the cap cuts a path must not depend on pytest's folder numbering."""
    import tempfile
    from pathlib import Path

    root = Path(tempfile.mkdtemp(prefix="osvc-audit-", dir="/tmp"))
    for sub in ("etc", "var", "log"):
        (root / sub).mkdir()
    return root


# -- synthetic records ----------------------------------------------------------------------------------
T0 = 1_714_560_889_000_000_000     # 2024-05-01 10:54:49.000 UTC


class ScriptedClock:
    def __init__(self, ns):
        self.ns = ns

    def __call__(self):
        return self.ns


class Writer:
    """`w.at(ms, kind, event, ...)` appends one record stamped T0 + ms."""

    def __init__(self, path, svc="vm1", node="node1"):
        self.clock = ScriptedClock(T0)
        self.journal = Journal(path, clock=self.clock)
        self.svc, self.node = svc, node

    def at(self, ms, aid, kind, event, rid="", machine="", src="", dst="", **payload):
        self.clock.ns = T0 + int(ms * 1_000_000)
        rec = {"node": self.node, "svc": self.svc, "rid": rid, "kind": kind, "event": event,
               "machine": machine, "src": src, "dst": dst, "action_id": aid, "payload": payload}
        return self.journal.append_one(rec)

    def begin(self, ms, aid, action, *extra, user="admin", pid=4242):
        return self.at(ms, aid, "action", "begin", action=action,
                       argv=["osvc-engine", "-s", self.svc, action, *extra], user=user, pid=pid,
                       boot_id="b00t", node=self.node, digest="d1g", steps={})

    def end(self, ms, aid, action, outcome="ok", rc=0, duration=None, **more):
        payload = {"action": action, "outcome": outcome, "rc": rc, **more}
        if duration is not None:
            payload["duration"] = duration
        return self.at(ms, aid, "action", "end", **payload)

    def move(self, ms, aid, rid, machine, event, src, dst, **payload):
        return self.at(ms, aid, "transition", event, rid=rid, machine=machine, src=src, dst=dst, **payload)

    def command(self, ms, aid, rid, argv, rc=0, duration=0.01, out="", err=""):
        return self.at(ms, aid, "command", argv[0], rid=rid, argv=argv, rc=rc, duration=duration,
                       out_tail=out, err_tail=err, pid=900, timeout=False)

    def close(self):
        self.journal.close()


START = "a1a1a1a1a1a1a1a1"
MIGRATE = "b2b2b2b2b2b2b2b2"
SWITCH = "c3c3c3c3c3c3c3c3"
CRASHED = "d4d4d4d4d4d4d4d4"

OVM_START = ["ovm", "-u", "admin", "vm", "start", "-n", "vm1"]


def vm_start(w, t=0, aid=START):
    """A start of an OVM guest with an ip and the OVM HA heartbeat: every container phase, with the
    wait-ping phase the long one (2.31 s)."""
    w.begin(t, aid, "start", "--cluster")
    w.move(t + 5, aid, "", "service", "start", "idle", "starting", action="start")
    w.move(t + 6, aid, "ip#1", "resource", "start", "down", "starting")
    w.command(t + 50, aid, "ip#1", ["ip", "addr", "add", "10.0.0.5/24", "dev", "eth0"], duration=0.02)
    w.move(t + 52, aid, "ip#1", "resource", "started", "starting", "up", duration=0.046)
    w.move(t + 53, aid, "container#1", "container", "start", "down", "starting")
    w.command(t + 1253, aid, "container#1", OVM_START, duration=1.2, out="Status: Success\n")
    w.move(t + 1255, aid, "container#1", "container", "wait_up", "starting", "wait-up", duration=1.202)
    w.move(t + 2455, aid, "container#1", "container", "wait_ping", "wait-up", "wait-ping", duration=1.2)
    w.move(t + 4765, aid, "container#1", "container", "wait_operational", "wait-ping", "wait-operational",
           duration=2.31)
    w.command(t + 4800, aid, "container#1", ["ssh", "vm1", "pwd"], duration=0.03, out="/root\n")
    w.move(t + 5165, aid, "container#1", "container", "started", "wait-operational", "up", duration=0.4)
    w.move(t + 5170, aid, "hb#1", "hb", "enable", "ha-disabled", "ha-enabling")
    w.command(t + 5900, aid, "hb#1", ["ovm", "-u", "admin", "vm", "conf", "-e", "-n", "vm1"], duration=0.7)
    w.move(t + 5905, aid, "hb#1", "hb", "enabled", "ha-enabling", "ha-enabled", duration=0.735)
    w.move(t + 5910, aid, "", "service", "started", "starting", "started")
    w.end(t + 5912, aid, "start", duration=5.912)


def vm_migrate(w, t=10_000, aid=MIGRATE):
    w.begin(t, aid, "migrate", "--to", "node2")
    w.move(t + 4, aid, "", "service", "migrate", "started", "migrating", action="migrate", to="node2")
    w.move(t + 6, aid, "container#1", "container", "migrate", "up", "migrating", to="node2")
    w.command(t + 8506, aid, "container#1", ["ovm", "-u", "admin", "vm", "migrate", "-n", "vm1", "-s", "node2"],
              duration=8.5)
    w.move(t + 8510, aid, "container#1", "container", "stopped", "migrating", "down", duration=8.504)
    w.move(t + 8512, aid, "", "service", "stopped", "migrating", "stopped")
    w.end(t + 8515, aid, "migrate", duration=8.515)


def vm_switch(w, t=20_000, aid=SWITCH):
    """A failover to node2 whose stop of the guest timed out and was forced."""
    w.begin(t, aid, "switch", "--to", "node2")
    w.move(t + 3, aid, "", "service", "switch", "started", "switching", action="switch", to="node2")
    w.move(t + 5, aid, "hb#1", "hb", "disable", "ha-enabled", "ha-disabling")
    w.move(t + 405, aid, "hb#1", "hb", "disabled", "ha-disabling", "ha-disabled", duration=0.4)
    w.move(t + 407, aid, "container#1", "container", "stop", "up", "stopping")
    w.command(t + 907, aid, "container#1", ["ovm", "-u", "admin", "vm", "stop", "-n", "vm1"], duration=0.5)
    w.move(t + 909, aid, "container#1", "container", "wait_down", "stopping", "wait-down", duration=0.502)
    w.move(t + 60_909, aid, "container#1", "container", "force_stop", "wait-down", "force-stopping",
           duration=60.0)
    w.command(t + 61_909, aid, "container#1", ["ovm", "-u", "admin", "vm", "kill", "-n", "vm1"], duration=1.0)
    w.move(t + 61_910, aid, "container#1", "container", "wait_down", "force-stopping", "wait-down",
           duration=1.001)
    w.move(t + 62_210, aid, "container#1", "container", "stopped", "wait-down", "down", duration=0.3)
    w.move(t + 62_212, aid, "", "service", "stopped", "switching", "stopped")
    w.end(t + 62_215, aid, "switch", duration=62.215)


def vm_crash_and_recover(w, t=100_000, crashed=CRASHED):
    """A start killed in wait-ping, then `recover` 90 s later (engine/recovery.py): the guest answers,
    so it is up. Recovery journals under the interrupted action's id, and says who recovered."""
    w.begin(t, crashed, "start")
    w.move(t + 5, crashed, "", "service", "start", "stopped", "starting", action="start")
    w.move(t + 7, crashed, "container#1", "container", "start", "down", "starting")
    w.command(t + 1207, crashed, "container#1", OVM_START, duration=1.2)
    w.move(t + 1209, crashed, "container#1", "container", "wait_up", "starting", "wait-up", duration=1.202)
    w.move(t + 2409, crashed, "container#1", "container", "wait_ping", "wait-up", "wait-ping", duration=1.2)
    # SIGKILL here. Later, `osvc-engine -s vm1 recover` finds the begin without its end.
    r = t + 92_409
    why = "its process 4242 is gone"
    by = {"pid": 5151, "user": "root", "argv": ["osvc-engine", "-s", "vm1", "recover"]}
    w.move(r + 300, crashed, "container#1", "container", "recover_up", "wait-ping", "up",
           reason=f"interrupted action {crashed}: {why}", status="up", log=[], recovered_by=by)
    w.move(r + 302, crashed, "", "service", "recover_started", "starting", "started",
           reason=f"interrupted action {crashed}: {why}", recovered_by=by)
    w.end(r + 305, crashed, "start", outcome="interrupted", rc=1, reason=why,
          recovered={"container#1": ["wait-ping", "up", "up"], "": ["starting", "started", None]},
          recovered_by=by, duration=92.714)


def refused(w, t=200_000, aid="f6f6f6f6f6f6f6f6"):
    w.at(t, aid, "action", "refused", action="stop", argv=["osvc-engine", "-s", w.svc, "stop"],
         user="root", pid=6161,
         reason="this service is managed by a clusterware, thus direct service manipulation is disabled (stop).")


# --- fixtures (import them by name in a test module) --------------------------------------------------
@pytest.fixture
def utc(monkeypatch):
    """Local time is UTC for the test: formatted journal times are stable."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def history():
    """A node root holding the journal of real actions (run_history), made once: the tests only read it."""
    import shutil

    root = short_root()
    run_history(root, make_web(root))
    yield root
    shutil.rmtree(root, ignore_errors=True)
