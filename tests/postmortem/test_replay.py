"""Replay: the pure fold, `journal replay` against the live engine after real actions, --seq/--at,
the env in force, --check, the status records, snapshots (and their tampering)."""

import json
import sqlite3
import time

import msgpack
import pytest

from engine.history.fold import ServiceView, fold

from engine.history.observations import journal_status

from engine.history.views import replay_service
from journal.store import Journal
from tests.helpers.cli import journal_rows, osvc
from tests.helpers.launchers import launcher_service


@pytest.fixture
def svc(osvc_root):
    """Service `web`: 1.8 launchers app#1..3 (a, b, c) keeping their state in files."""
    return launcher_service(osvc_root)


def jpath(root):
    return root / "var" / "journal.db"


def live(root, svc="web"):
    cache = json.loads((root / "var" / svc / "status.json").read_text())
    states = json.loads((root / "var" / svc / "states.json").read_text())
    return cache, states


def replayed(root, svc="web", **kw):
    with Journal(jpath(root)) as j:
        return replay_service(j, svc, **kw)


def without_updated(doc):
    return {k: v for k, v in doc.items() if k != "updated"}


def assert_replay_equals_engine(root, svc="web"):
    """Now, from the journal alone: the document the engine cached, the machines of states.json,
    and the same text as print status."""
    cache, states = live(root, svc)
    view = replayed(root, svc)
    assert without_updated(view.document()) == without_updated(cache)
    assert view.machines() == states
    r = osvc(root, "journal", "replay", "-s", svc)
    assert r.returncode == 0, r.stderr
    assert r.stdout == osvc(root, "-s", svc, "print", "status").stdout
    r = osvc(root, "journal", "replay", "--check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "every machine matches the journal" in r.stdout


# --- the fold, pure ---------------------------------------------------------------------------------

def rec(seq, kind, event="", rid="", machine="", src="", dst="", payload=None, svc="s1", action_id="a1"):
    return {"seq": seq, "ts": seq * 1_000_000_000, "hlc": seq, "node": "n1", "svc": svc, "rid": rid,
            "kind": kind, "machine": machine, "event": event, "src": src, "dst": dst, "action_id": action_id,
            "payload": payload or {}, "durable": True, "hash": ""}


def test_fold_reports_records_off_the_table_and_does_not_apply_them():
    records = [
        rec(1, "transition", "start", "ip#1", "resource", "down", "starting"),
        rec(2, "transition", "started", "ip#1", "resource", "starting", "up"),
        rec(3, "transition", "wait_ping", "ip#1", "resource", "up", "wait-ping"),     # no such row
        rec(4, "transition", "stopped", "ip#1", "resource", "stopping", "down"),      # valid row, wrong source
        rec(5, "transition", "start", "vm", "container", "down", "starting"),
        rec(6, "transition", "wait_up", "vm", "container", "starting", "wait-up"),
    ]
    view = fold(records)["s1"]
    assert view.states == {"ip#1": "down", "vm": "wait-up"}
    assert view.anomalies == [
        [3, "ip#1", "resource wait_ping up -> wait-ping does not follow the machine table: not applied"],
        [4, "ip#1", "stopped from stopping but the journal left it up (gap): applied"],
    ]
    assert view.machine_state("hb#1", "hb") == "ha-disabled"


def test_fold_is_pure_and_takes_dicts_or_stored_rows(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    assert osvc(osvc_root, "-s", "web", "freeze").returncode == 0
    with Journal(jpath(osvc_root)) as j:
        rows = j.raw()
        dicts = j.read()
    a, b, c = fold(rows), fold(dicts), fold(iter(rows))
    assert a == b == c and list(a) == ["web"]
    v = a["web"]
    assert v.frozen and v.open is None and v.last_action["outcome"] == "ok"
    assert v.env["text"] == (osvc_root / "etc" / "web.env").read_text()
    assert v.states == {"": "started", "app#1": "up", "app#2": "up", "app#3": "up"}
    assert ServiceView.from_state(v.state()) == v


def test_open_action_and_svc_filter():
    records = [rec(1, "action", "begin", payload={"action": "start", "pid": 1}),
               rec(2, "action", "begin", svc="s2", action_id="b"), rec(3, "action", "end", svc="s2", action_id="b",
                                                                       payload={"outcome": "ok", "action": "stop"})]
    views = fold(records)
    assert views["s1"].open["action_id"] == "a1" and views["s1"].open["payload"]["pid"] == 1
    assert views["s2"].open is None and views["s2"].last_action["action"] == "stop"
    assert list(fold(records, svc="s2")) == ["s2"]


# --- replay = the live engine, after real actions ------------------------------------------------------

def test_replay_equals_the_engine_after_each_action(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    assert_replay_equals_engine(osvc_root)
    assert osvc(osvc_root, "-s", "web", "stop", "--rid", "app#2").returncode == 0
    assert_replay_equals_engine(osvc_root)
    assert osvc(osvc_root, "-s", "web", "stop").returncode == 0
    (svc / "c.fail").touch()
    assert osvc(osvc_root, "-s", "web", "start").returncode == 1          # c fails: a and b rolled back
    assert_replay_equals_engine(osvc_root)
    assert osvc(osvc_root, "-s", "web", "freeze").returncode == 0
    assert osvc(osvc_root, "-s", "web", "status", "--refresh").returncode == 1
    assert_replay_equals_engine(osvc_root)
    assert replayed(osvc_root).document()["frozen"] is True


def test_replay_at_a_past_seq_and_time(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    started_text = osvc(osvc_root, "-s", "web", "print", "status").stdout
    started_doc = json.loads((osvc_root / "var" / "web" / "status.json").read_text())
    with Journal(jpath(osvc_root)) as j:
        mark, mark_ts = j.head()[0], j.read(seq_min=j.last_seq())[0]["ts"]
    time.sleep(0.01)                        # --at below is 1 ms after the mark (float seconds)
    assert osvc(osvc_root, "-s", "web", "stop").returncode == 0
    assert "overall                   down" in osvc(osvc_root, "journal", "replay", "-s", "web").stdout

    r = osvc(osvc_root, "journal", "replay", "-s", "web", "--seq", str(mark))
    assert r.returncode == 0 and r.stdout == started_text
    r = osvc(osvc_root, "journal", "replay", "-s", "web", "--at", f"@{mark_ts / 1e9 + 0.001:.6f}", "--format", "json")
    assert without_updated(json.loads(r.stdout)) == without_updated(started_doc)
    # mid-action: the machines as journaled then, the last status observed before
    rows = journal_rows(osvc_root, svc="web", kind="transition")
    mid = next(t["seq"] for t in rows if t["rid"] == "app#2" and t["dst"] == "stopping")
    view = replayed(osvc_root, seq=mid)
    assert view.machines() == {"": "stopping", "app#1": "up", "app#2": "stopping", "app#3": "down"}
    assert view.document()["resources"]["app#2"]["status"] == "up"
    assert view.document()["resources"]["app#2"]["state"] == "stopping"
    r = osvc(osvc_root, "journal", "replay", "-s", "web", "--seq", str(mid), "-v")
    assert "# machine app#2            stopping" in r.stdout
    assert "# open action stop [act:" in r.stdout


def test_replay_shows_the_env_file_in_force_then(osvc_root, svc):
    env = osvc_root / "etc" / "web.env"
    old = env.read_text()
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    mark = replayed(osvc_root).seq
    env.write_text(old.replace("[app#3]\nscript = c\nstart = 30\nstop = 30\ncheck = 30\n", ""))
    assert osvc(osvc_root, "-s", "web", "stop").returncode == 0
    assert osvc(osvc_root, "journal", "replay", "-s", "web", "--seq", str(mark), "--env").stdout == old
    assert osvc(osvc_root, "journal", "replay", "-s", "web", "--env").stdout == env.read_text()
    then = osvc(osvc_root, "journal", "replay", "-s", "web", "--seq", str(mark)).stdout
    assert "|  '- app#3          .... up       c" in then.splitlines()
    now = osvc(osvc_root, "journal", "replay", "-s", "web").stdout
    assert "app#3" not in now and now == osvc(osvc_root, "-s", "web", "print", "status").stdout


def test_replay_of_an_unknown_service_or_before_its_first_record(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    r = osvc(osvc_root, "journal", "replay", "-s", "nosuch")
    assert r.returncode == 4
    assert "no journal record of service 'nosuch'" in r.stderr
    r = osvc(osvc_root, "journal", "replay", "-s", "web", "--at", "2001-01-01T00:00:00")
    assert r.returncode == 4 and "at or before 2001-01-01T00:00:00" in r.stderr
    r = osvc(osvc_root, "journal", "replay")
    assert r.returncode == 2 and "name the service with -s SVC" in r.stderr


# --- --check -------------------------------------------------------------------------------------------

def test_check_lists_divergences_and_exits_non_zero(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    states_path = osvc_root / "var" / "web" / "states.json"
    states = json.loads(states_path.read_text())
    states["app#2"] = "down"
    states_path.write_text(json.dumps(states))
    (osvc_root / "var" / "web" / "frozen").touch()
    r = osvc(osvc_root, "journal", "replay", "--check")
    assert r.returncode == 1
    assert r.stdout.splitlines() == ["web: app#2: the journal says up, states.json says down",
                                     "web: frozen: the journal says False, the flag file says True"]
    assert "2 divergence(s) in 1 of 1 service(s)" in r.stderr


# --- the status records --------------------------------------------------------------------------------

def test_status_is_journaled_only_when_it_changes_and_never_on_the_cached_read(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    status_rows = lambda: [r for r in journal_rows(osvc_root, svc="web", kind="observation") if r["rid"] == ""]
    first = status_rows()
    assert len(first) == 1
    assert first[0]["durable"] is False
    p = first[0]["payload"]
    assert p["resources"] == {"app#1": ["up", []], "app#2": ["up", []], "app#3": ["up", []]}
    assert (p["overall"], p["avail"]) == ("up", "up")
    assert p["meta"]["app#1"] == ["app", "a", False, False, False, False, []]
    count = len(journal_rows(osvc_root))
    assert osvc(osvc_root, "-s", "web", "print", "status").returncode == 0
    assert osvc(osvc_root, "-s", "web", "status", "--refresh").returncode == 0
    assert len(journal_rows(osvc_root)) == count                    # nothing changed: nothing journaled
    (svc / "b").unlink()
    assert osvc(osvc_root, "-s", "web", "print", "status").returncode == 0   # cached read: no record
    assert len(status_rows()) == 1
    assert osvc(osvc_root, "-s", "web", "status", "--refresh").returncode == 2
    rows = status_rows()
    assert len(rows) == 2
    assert rows[1]["payload"]["resources"]["app#2"] == ["down", []]
    assert "meta" not in rows[1]["payload"]                         # same metadata: not repeated
    assert replayed(osvc_root).document()["resources"]["app#2"]["status"] == "down"


def test_journal_status_repeats_the_metadata_when_it_changes(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    doc = json.loads((osvc_root / "var" / "web" / "status.json").read_text())
    with Journal(jpath(osvc_root)) as j:
        assert journal_status(j, "node1", "web", doc) is None
        doc["resources"]["app#1"]["label"] = "renamed"
        seq = journal_status(j, "node1", "web", doc)
        assert j.read(seq_min=seq)[0]["payload"]["meta"]["app#1"][1] == "renamed"
        assert replay_service(j, "web").document()["resources"]["app#1"]["label"] == "renamed"


def test_print_status_cached_read_stays_free_of_sqlite_utils(osvc_root, svc):
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    code = ("import sys, cli; cli.main(['-s', 'web', 'print', 'status']); "
            "print('LOADED', sorted(m for m in ('sh', 'sqlite_utils', 'sqlite3', 'engine.history.fold') if m in sys.modules))")
    import subprocess
    import sys

    from tests.helpers.cli import REPO
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       env={"OSVC_ROOT": str(osvc_root), "OSVC_NODENAME": "node1", "PATH": "/usr/bin:/bin"})
    assert "LOADED []" in r.stdout, r.stdout + r.stderr


# --- snapshots -----------------------------------------------------------------------------------------

def snapshot_rows(root):
    with sqlite3.connect(jpath(root)) as conn:
        return conn.execute("SELECT svc, seq, hash, state, digest FROM snapshots ORDER BY seq").fetchall()


@pytest.fixture
def snapshotted(osvc_root, svc):
    """web after 4 actions, with node.conf asking for a snapshot every 10 records of a service."""
    (osvc_root / "etc" / "node.conf").write_text("[journal]\nsnapshot_interval = 10\n")
    for action in ("start", "stop", "start", "stop"):
        assert osvc(osvc_root, "-s", "web", action).returncode == 0
    return osvc_root


def test_actions_write_snapshots_and_replay_uses_them(snapshotted):
    root = snapshotted
    snaps = snapshot_rows(root)
    assert len(snaps) >= 3
    with Journal(jpath(root)) as j:
        total = len(j.raw(svc="web"))
        for (_, seq, h, _, _), (_, nxt, _, _, _) in zip(snaps, snaps[1:]):
            assert 10 <= len(j.raw(svc="web", seq_after=seq, seq_max=nxt))
            assert j.hash_at(seq) == h
        for target in [None, *range(1, j.last_seq() + 1, 7)]:
            with_snap = replay_service(j, "web", seq=target)
            assert with_snap == replay_service(j, "web", seq=target, snapshots=False)
            assert with_snap.warnings == []
    assert total > 40
    assert osvc(root, "journal", "verify").returncode == 0
    assert_replay_equals_engine(root)


def test_by_default_a_service_is_snapshotted_about_every_100_of_its_records(osvc_root, svc):
    """The default interval counts the service's own records: a snapshot once 100 of them passed the last."""
    from engine.history.snapshots import DEFAULT_INTERVAL

    assert DEFAULT_INTERVAL == 100
    while True:
        assert osvc(osvc_root, "-s", "web", "start").returncode == 0
        assert osvc(osvc_root, "-s", "web", "stop").returncode == 0
        with Journal(jpath(osvc_root)) as j:
            if len(j.raw(svc="web")) >= 230:
                break
    snaps = snapshot_rows(osvc_root)
    assert [s[0] for s in snaps] == ["web", "web"]
    with Journal(jpath(osvc_root)) as j:
        assert len(j.raw(svc="web", seq_max=snaps[0][1])) >= 100
        assert len(j.raw(svc="web", seq_after=snaps[0][1], seq_max=snaps[1][1])) >= 100
        assert len(j.raw(svc="web", seq_after=snaps[1][1])) < 100


def test_a_modified_snapshot_is_detected_and_replay_falls_back(snapshotted):
    root = snapshotted
    svc_, seq, h, blob, digest = snapshot_rows(root)[-1]
    state = msgpack.unpackb(blob, raw=False)
    state["states"]["app#1"] = "start-failed"
    with sqlite3.connect(jpath(root)) as conn:
        conn.execute("UPDATE snapshots SET state = ? WHERE seq = ?", (msgpack.packb(state), seq))
    with Journal(jpath(root)) as j:
        view = replay_service(j, "web")
        assert view == replay_service(j, "web", snapshots=False)
    assert view.warnings == [f"snapshot of web at seq {seq}: its digest does not match its content (modified); "
                             "ignored, replaying from an older snapshot or the start"]
    r = osvc(root, "journal", "replay", "-s", "web")
    assert r.returncode == 0 and f"warning: snapshot of web at seq {seq}: its digest" in r.stderr
    r = osvc(root, "journal", "verify")
    assert r.returncode == 6
    assert f"snapshot of web at seq {seq}: its digest does not match its content (modified)" in r.stderr
    assert "The event chain itself is intact" in r.stderr
    r = osvc(root, "journal", "snapshot")
    assert r.returncode == 0 and "wrote" in r.stdout
    assert osvc(root, "journal", "verify").returncode == 0


def test_a_snapshot_rewritten_with_a_valid_digest_is_caught_by_verify(snapshotted):
    from engine.history import snapshots

    root = snapshotted
    _, seq, h, blob, _ = snapshot_rows(root)[0]
    state = msgpack.unpackb(blob, raw=False)
    state["frozen"] = True
    with Journal(jpath(root)) as j:
        forged = msgpack.packb(state)
        digest = snapshots._digest(j, "web", seq, h, forged)
    with sqlite3.connect(jpath(root)) as conn:
        conn.execute("UPDATE snapshots SET state = ?, digest = ? WHERE seq = ?", (forged, digest, seq))
    r = osvc(root, "journal", "verify")
    assert r.returncode == 6
    assert f"snapshot of web at seq {seq}: its content differs from the fold of the chain (frozen)" in r.stderr


def test_a_snapshot_whose_chain_hash_differs_is_ignored(snapshotted):
    root = snapshotted
    _, seq, _, _, _ = snapshot_rows(root)[-1]
    with sqlite3.connect(jpath(root)) as conn:
        conn.execute("UPDATE snapshots SET hash = ? WHERE seq = ?", (b"\0" * 32, seq))
    with Journal(jpath(root)) as j:
        view = replay_service(j, "web")
        assert view == replay_service(j, "web", snapshots=False)
        assert "its digest does not match" in view.warnings[0]


def test_snapshot_command_builds_and_drops(snapshotted):
    root = snapshotted
    r = osvc(root, "journal", "snapshot", "--every", "5")
    assert r.returncode == 0
    with Journal(jpath(root)) as j:
        n = len(j.raw(svc="web"))
    assert len(snapshot_rows(root)) == n // 5
    assert osvc(root, "journal", "verify").returncode == 0
    r = osvc(root, "journal", "snapshot", "--drop")
    assert r.stdout == f"dropped {n // 5} snapshot(s)\n"
    assert snapshot_rows(root) == []
    assert_replay_equals_engine(root)
