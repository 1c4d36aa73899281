"""`journal tail -f` in one process while a real action runs in another: the follower prints the action's
transitions as they happen, in order, in the very lines `journal audit` shows for that action afterwards.

"Live" is made deterministic, not timed: app#2's launcher waits for a file the test creates only after
the follower has printed app#2's `start` transition, so those lines were necessarily printed while the
action was still running (and before its `end` was journaled).
"""

import os
import queue
import signal
import subprocess
import threading

import pytest

from postmortem import audit
from journal import lines as fmt
from journal.store import Journal
from tests.helpers import journal_scenarios as js
from tests.helpers.cli import COMMAND

WAIT = 60        # seconds: a guard against a hang, never a timing assertion


@pytest.fixture
def live(osvc_root):
    state = osvc_root / "state"
    go = state / "go"
    js.make_web(osvc_root, pause={
        "a": "sleep 0.2; ",
        "b": f'n=0; while [ ! -e "{go}" ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done; ',
        "c": "sleep 0.2; ",
    })
    Journal(osvc_root / "var" / "journal.db").close()      # the follower opens an existing journal
    env = {**os.environ, "OSVC_ROOT": str(osvc_root), "OSVC_NODENAME": "node1"}
    procs = []

    def spawn(*args, **popen):
        p = subprocess.Popen([*COMMAND, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, stdin=subprocess.DEVNULL, **popen)
        procs.append(p)
        return p

    yield {"root": osvc_root, "go": go, "spawn": spawn}
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


class Lines:
    """A child's stdout, line by line, read by a thread so the test can wait with a guard."""

    def __init__(self, stream):
        self.q = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def until(self, pred):
        """Read until a line satisfies pred; returns it."""
        while True:
            line = self.q.get(timeout=WAIT)
            assert line is not None, "the follower exited:\n" + "\n".join(self.seen)
            self.seen.append(line)
            if pred(line):
                return line


def is_move(rid, event):
    target = f"web.{rid}" if rid else "web"
    return lambda line: line.split()[2:4] == [target, event]


def test_follower_prints_transitions_live_in_the_audit_format(live):
    follower = live["spawn"]("journal", "tail", "-f", "-s", "web", "-n", "all")
    out = Lines(follower.stdout)
    action = live["spawn"]("-s", "web", "start")

    out.until(is_move("app#2", "start"))
    # app#2's launcher is waiting for `go`: the action cannot have ended
    assert action.poll() is None
    with Journal(live["root"] / "var" / "journal.db") as j:
        assert [r["event"] for r in j.read(svc="web", kind="action")] == ["begin"]
    before_go = list(out.seen)
    live["go"].touch()
    assert action.wait(timeout=WAIT) == 0, action.stderr.read()
    out.until(is_move("", "started"))
    follower.send_signal(signal.SIGINT)              # Ctrl-C: the follower ends cleanly
    assert follower.wait(timeout=WAIT) == 0, follower.stderr.read()

    with Journal(live["root"] / "var" / "journal.db") as j:
        (entry,) = audit.entries(j, svc="web")
        text = audit.text([entry])
    timeline = entry.timeline()
    moves = [fmt.line(r) for r in entry.transitions()]
    # the follower printed every transition of the action, in order, as the audit's lines
    assert [line for line in out.seen if line in moves] == moves
    assert [line.split()[2:4] for line in moves] == [
        ["web", "start"], ["web.app#1", "start"], ["web.app#1", "started"], ["web.app#2", "start"],
        ["web.app#2", "started"], ["web.app#3", "start"], ["web.app#3", "started"], ["web", "started"]]
    # ...the first four of them before the action could end
    assert [line for line in before_go if line in moves] == moves[:4]
    # and they are the audit's own timeline lines, character for character
    audit_lines = text.split("  timeline\n")[1].splitlines()
    assert [ln[4:] for ln in audit_lines] == timeline
    assert all(line in out.seen for line in timeline)      # the commands too


def ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_ctrl_c_stops_a_follower_that_inherited_sigint_ignored(live):
    """A shell without job control starts `cmd &` with SIGINT ignored, and every child inherits that
    (a test run in the background, a CI runner): the follower still ends on Ctrl-C, promptly."""
    def append(event):
        with Journal(live["root"] / "var" / "journal.db") as j:
            j.append_one({"node": "node1", "svc": "web", "kind": "action", "event": event, "payload": {}})

    append("begin")
    follower = live["spawn"]("journal", "tail", "-f", "-s", "web", "-n", "all", preexec_fn=ignore_sigint)
    out = Lines(follower.stdout)
    out.until(lambda line: line.split()[2:4] == ["web", "begin"])    # printed: past its SIGINT setup
    append("end")
    out.until(lambda line: line.split()[2:4] == ["web", "end"])      # printed by the follow loop
    follower.send_signal(signal.SIGINT)
    assert follower.wait(timeout=WAIT) == 0, follower.stderr.read()
