"""The engine API: ActionRequest (engine/request.py) is the only input below the CLI, Session
(engine/session.py) the only maker of an action's id, records, refusal and lock. Most of these run
the CLI in this process (cli.main), which the engine's process-global state used to forbid."""

import os
import subprocess
import sys

import pytest

import cli
from engine.request import ActionRequest, from_argv
from tests.helpers.cli import journal_rows, osvc
from tests.helpers.launchers import launcher_service, running

ARGV = ("osvc-engine", "-s", "web", "start")


@pytest.fixture
def svc(osvc_root):
    return launcher_service(osvc_root)


def verify(root):
    from engine.history.snapshots import check_snapshots
    from journal import verify as jverify
    from journal.store import Journal

    with Journal(root / "var" / "journal.db") as j:
        jverify.verify(j, checks=(check_snapshots,))     # raises on the first problem


# --- the request ----------------------------------------------------------------------------------

def test_a_request_is_frozen_and_copied_not_changed():
    req = ActionRequest("start", argv=ARGV, rid="app#1")
    with pytest.raises(AttributeError, match="frozen"):
        req.force = True
    forced = req.with_(force=True)
    assert (req.force, forced.force, forced.rid, forced.argv) == (False, True, "app#1", ARGV)
    assert hash(req) == hash(ActionRequest("start", argv=ARGV, rid="app#1"))
    assert req.journaled() == {"rid": "app#1"} and forced.journaled() == {"rid": "app#1", "force": True}


def test_the_cli_builds_the_request_from_its_arguments():
    argv = ["-s", "web", "--rid", "app#2", "start", "--cluster", "--waitlock", "3", "--kw", "a.b=c"]
    req = cli.request_from(cli.build_parser().parse_intermixed_args(argv), argv)
    assert isinstance(req, ActionRequest)
    assert (req.action, req.rid, req.cluster, req.waitlock, req.kw) == ("start", "app#2", True, 3.0, ("a.b=c",))
    assert req.argv == ("osvc-engine", *argv)


def test_resume_reads_the_journaled_request_and_old_journals_command_line():
    begin = {"action": "prstart", "argv": ["osvc-engine", "-s", "web", "scsireserv", "--cluster"],
             "request": {"cluster": True, "rid": "disk#1"}}
    req = ActionRequest.from_begin(begin, resumes="abcd")
    assert (req.action, req.cluster, req.rid, req.resumes, req.argv) == \
        ("prstart", True, "disk#1", "abcd", tuple(begin["argv"]))
    # a begin journaled before `request` existed: the command line, read as argparse read it
    old = {"action": "start", "argv": ["osvc-engine", "-s", "web", "--rid=app#1", "--disable", "start",
                                       "--waitlock", "7", "--format", "json"]}
    req = ActionRequest.from_begin(old, resumes="abcd")
    assert (req.action, req.rid, req.disable_rollback, req.waitlock) == ("start", "app#1", True, 7.0)
    assert from_argv(["osvc-engine", "-s", "web", "print", "status"])["action"] == "print status"


# --- one action, one id, one session ----------------------------------------------------------------

def test_two_actions_in_one_process_one_id_each_and_a_journal_verify_accepts(osvc_root, svc, capsys):
    assert cli.main(["-s", "web", "start"]) == 0
    assert running(svc) == ["a", "b", "c"]
    assert cli.main(["-s", "web", "stop"]) == 0
    assert running(svc) == []
    rows = journal_rows(osvc_root, svc="web")
    ids = list(dict.fromkeys(r["action_id"] for r in rows))       # every record is one action's
    assert len(ids) == 2 and all(len(i) == 16 for i in ids)
    for action_id, action in zip(ids, ("start", "stop")):
        mine = [r for r in rows if r["action_id"] == action_id and r["kind"] == "action"]
        assert [r["event"] for r in mine] == ["begin", "end"]
        assert mine[0]["payload"]["action"] == action and mine[0]["payload"]["request"] == {}
        assert {r["kind"] for r in rows if r["action_id"] == action_id} >= {"action", "transition", "command"}
    verify(osvc_root)


def test_the_action_id_a_caller_hands_down_is_the_one_journaled(osvc_root, svc, monkeypatch, capsys):
    monkeypatch.setenv("OSVC_ACTION_ID", "feedfacefeedface")
    assert cli.main(["-s", "web", "start"]) == 0
    assert cli.main(["-s", "web", "freeze"]) == 0
    assert {r["action_id"] for r in journal_rows(osvc_root, svc="web")} == {"feedfacefeedface"}


def test_an_observer_sees_every_record_of_its_action(osvc_root, svc, node):
    from engine.executor import Executor
    from engine.session import Session

    seen = []
    req = ActionRequest("start", argv=ARGV)
    session = Session(node, "web", req, observers=[lambda rec, seq: seen.append((seq, rec["kind"], rec["event"]))])
    assert Executor(node, "web", req, session=session).run() == 0
    journaled = [(r["seq"], r["kind"], r["event"]) for r in journal_rows(osvc_root, svc="web")
                 if r["kind"] in ("config", "action", "transition", "command")]
    assert seen == journaled and ("transition", "started") in [(k, e) for _, k, e in seen]


def test_the_crash_injection_is_read_once_when_the_session_is_made(node, monkeypatch):
    from engine.session import CrashAt, Session

    monkeypatch.setenv("OSVC_CRASH_AT_TRANSITION", "3")
    session = Session(node, "web", ActionRequest("start"))
    monkeypatch.delenv("OSVC_CRASH_AT_TRANSITION")
    assert [type(o) for o in session.observers] == [CrashAt] and session.observers[0].n == 3
    assert Session(node, "web", ActionRequest("start")).observers == []


# --- the lock: DEFAULT.lock_timeout for every entry point -------------------------------------------

@pytest.fixture
def held(node):
    """The service lock of `web`, held by another process (intent 'stop')."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time; from core.lock import ServiceLock\n"
         f"with ServiceLock({str(node.lock_path('web'))!r}, 'stop', 5):\n"
         "    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("action", ["start", "recover"])
def test_the_lock_timeout_is_default_lock_timeout(osvc_root, svc, held, action, capsys):
    env = osvc_root / "etc" / "web.env"
    env.write_text(env.read_text().replace("[DEFAULT]\n", "[DEFAULT]\nlock_timeout = 1\n"))
    assert cli.main(["-s", "web", action]) == 5      # the message names the timeout used: 1, not the 60 s default
    err = capsys.readouterr().err
    assert f"timed out waiting for lock (timeout 1, delay 1, action {action}" in err
    assert f"holder pid {held.pid}, holder intent 'stop'" in err
    assert running(svc) == []


def test_a_lock_timeout_is_journaled_as_a_refusal_the_audit_shows(osvc_root, svc, held, capsys):
    """Issue 17 item 14: who tried to act while the service was locked is in the journal, like a guard's refusal."""
    import getpass
    import json

    env = osvc_root / "etc" / "web.env"
    env.write_text(env.read_text().replace("[DEFAULT]\n", "[DEFAULT]\nlock_timeout = 1\n"))
    assert cli.main(["-s", "web", "stop"]) == 5
    err = capsys.readouterr().err
    [refused] = journal_rows(osvc_root, svc="web", kind="action", event="refused")
    payload = refused["payload"]
    assert f"osvc-engine: error: {payload['reason']}" in err
    assert payload["reason"].startswith("timed out waiting for lock (timeout 1, delay 1, action stop, ")
    assert (payload["action"], payload["lock"], payload["holder"], payload["argv"], payload["user"],
            payload["pid"]) == ("stop", str(osvc_root / "var" / "lock" / "web"), {"pid": held.pid, "intent": "stop"},
                                ["osvc-engine", "-s", "web", "stop"], getpass.getuser(), os.getpid())
    assert journal_rows(osvc_root, svc="web", kind="action", event="begin") == []
    [entry] = json.loads(osvc(osvc_root, "journal", "audit", "-s", "web", "--format", "json").stdout)
    assert (entry["outcome"], entry["reason"]) == ("refused", payload["reason"])


def test_the_lock_is_reentrant_in_its_thread_only(node):
    import threading

    from core.errors import LockTimeout
    from core.lock import ServiceLock

    path, errors = node.lock_path("web"), []

    def other_thread():
        try:
            with ServiceLock(path, "stop", 0):
                pass
        except LockTimeout as exc:
            errors.append(str(exc))

    with ServiceLock(path, "start", 0):
        with ServiceLock(path, "start", 0):      # a sub-action of the holder: no wait
            t = threading.Thread(target=other_thread)
            t.start()
            t.join()
    assert len(errors) == 1 and f"holder pid {os.getpid()}, holder intent 'start'" in errors[0]
    with ServiceLock(path, "stop", 0):           # released: free again
        pass


# --- refusals: one record, one payload shape, from every entry point --------------------------------

def test_a_refusal_is_journaled_alike_by_every_entry_point(osvc_root, svc, capsys):
    env = osvc_root / "etc" / "web.env"
    env.write_text(env.read_text().replace("nodes = node1", "nodes = node1 node2"))
    assert cli.main(["-s", "web", "freeze"]) == 0
    for argv in (["start"], ["switch", "--to", "node2"], ["diskupdate"], ["scsireserv"]):
        assert cli.main(["-s", "web", *argv]) == 1
    refused = [r for r in journal_rows(osvc_root, svc="web", kind="action") if r["event"] == "refused"]
    assert [r["payload"]["action"] for r in refused] == ["start", "switch", "diskupdate", "prstart"]
    for r, argv in zip(refused, (["start"], ["switch", "--to", "node2"], ["diskupdate"], ["scsireserv"])):
        payload = r["payload"]
        assert set(payload) - {"to"} == {"action", "reason", "argv", "user", "pid"}
        assert payload["argv"] == ["osvc-engine", "-s", "web", *argv] and payload["pid"] == os.getpid()
        assert payload["reason"] == f"Abort action '{payload['action']}' for frozen service. Use --force to override."
        assert len(r["action_id"]) == 16
    assert refused[1]["payload"]["to"] == "node2"
    assert len({r["action_id"] for r in refused}) == 4


# --- recovery ---------------------------------------------------------------------------------------

def test_the_service_target_reads_the_direction_of_every_sub_action():
    from engine import recovery

    assert recovery.service_target("starting", {"steps": {"prstart": ["d"]}}, {"d": "down"}) == "start-failed"
    assert recovery.service_target("starting", {"steps": {"prstart": ["d"]}}, {"d": "up"}) == "started"
    assert recovery.service_target("stopping", {"steps": {"stopip": ["i"]}}, {"i": "up"}) == "stop-failed"
    assert recovery.service_target("stopping", {"steps": {"stop": ["a"], "start": ["a"]}}, {"a": "down"}) == "stopped"


def test_recovering_an_interrupted_stop_does_not_restart_what_it_stopped(osvc_root, svc):
    env = osvc_root / "etc" / "web.env"
    env.write_text(env.read_text().replace("check = 30\n", "check = 30\nrestart = 1\n"))
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    # stop order c, b, a: killed once app#3 (c) is down: service stopping, c stopping, c down
    r = osvc(osvc_root, "-s", "web", "stop", env={"OSVC_CRASH_AT_TRANSITION": "3"})
    assert r.returncode == -9 and running(svc) == ["a", "b"]
    r = osvc(osvc_root, "-s", "web", "recover")
    assert r.returncode == 0, r.stderr
    assert "restart resource" not in r.stdout + r.stderr and running(svc) == ["a", "b"]
    assert [x["payload"]["action"] for x in journal_rows(osvc_root, svc="web", kind="action")] == \
        ["start", "start", "stop", "stop"]


def test_the_old_journals_option_table_matches_the_command_line():
    """engine.request._OPTIONS reads command lines journaled before `request` was: it must know every option
    of the CLI's parser, with the same arity, or a resume of such an action would misread it."""
    import argparse

    import cli
    from engine.request import _OPTIONS

    parser_options = {}
    for action in cli.build_parser()._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        for opt in action.option_strings:
            if opt.startswith("--") or opt == "-s":
                parser_options[opt] = action.nargs != 0
    assert parser_options == {opt: takes for opt, (_, takes) in _OPTIONS.items()}
