"""Issue 17 item 12, the engine's own files: a full disk met writing var/<svc>/states.json, the status cache
(var/<svc>/status.json) or the lock file (var/lock/<svc>) is one clear message and exit 6, never a traceback;
an action it stops is left open for `recover`. The disks are real: a tmpfs filled to its last byte (root)."""

import json
import os
import re

import pytest

from tests.helpers.cli import journal_rows, osvc, write_launcher
from tests.helpers.disk import fill_up, free, tmpfs

pytestmark = pytest.mark.root

# app#1's start fills var/d1 (its own tmpfs) when $OSVC_ROOT/fill.on exists: the action's next write
# there, states.json at its end, meets a full disk; the journal (var/journal.db) is on another filesystem.
LAUNCHER = """\
case "$1" in
  start) [ -e "$OSVC_ROOT/fill.on" ] && dd if=/dev/zero of="$OSVC_ROOT/var/d1/filler" bs=4k 2>/dev/null
         touch "$OSVC_ROOT/app.up" ;;
  stop) rm -f "$OSVC_ROOT/app.up" ;;
  status) [ -e "$OSVC_ROOT/app.up" ] ;;
esac
"""


@pytest.fixture
def root(tmp_path):
    """A node root with service d1 (one app launcher), started and stopped once; var/d1 and var/lock are
    tmpfs of their own, with room."""
    root = tmp_path / "root"
    for sub in ("etc", "var", "log"):
        (root / sub).mkdir(parents=True)
    (root / "etc" / "d1.env").write_text("[DEFAULT]\nnodes = node1\n\n[app#1]\nscript = fill\nstart = 10\n"
                                         "stop = 10\ncheck = 10\n")
    write_launcher(root / "etc" / "d1.d" / "fill", LAUNCHER)
    with tmpfs(root / "var" / "d1", "1m"), tmpfs(root / "var" / "lock", "100k"):
        for argv in (("start",), ("stop",)):
            r = osvc(root, "-s", "d1", *argv)
            assert r.returncode == 0, r.stdout + r.stderr
        yield root


def free_of(stderr, folder):
    """The free space the message gave for `folder` (what statvfs said then: a few KiB at most)."""
    return re.search(rf"no space left on {re.escape(str(folder))} \((\d+ KiB) free\)", stderr).group(1)


def test_a_full_disk_writing_the_states_leaves_the_action_open_for_recover(root):
    var_d1 = root / "var" / "d1"
    (root / "fill.on").touch()
    r = osvc(root, "-s", "d1", "start")
    [begin] = journal_rows(root, svc="d1", kind="action", event="begin")[-1:]
    aid = begin["action_id"]
    assert (r.returncode, "Traceback" in r.stderr) == (6, False), r.stdout + r.stderr
    assert r.stderr == (
        f"osvc-engine: error: no space left on {var_d1} ({free_of(r.stderr, var_d1)} free) writing "
        f"{var_d1}/states.json (No space left on device): the action's end was not journaled, and action "
        f"'start' [act:{aid[:8]}] of d1 stays open. Free space on {var_d1}, then run `osvc-engine -s d1 recover`\n")
    assert [r["event"] for r in journal_rows(root, action_id=aid, kind="action")] == ["begin"]
    assert not list(var_d1.glob(".states.json.*.tmp"))     # no half-written temporary left holding space
    (root / "fill.on").unlink()
    os.unlink(var_d1 / "filler")
    r = osvc(root, "-s", "d1", "recover")
    assert r.returncode == 0 and "recovered" in r.stdout, r.stdout + r.stderr
    entries = json.loads(osvc(root, "journal", "audit", "-s", "d1", "--format", "json").stdout)
    assert [(e["action_id"], e["outcome"]) for e in entries][-1] == (aid, "interrupted")
    assert osvc(root, "-s", "d1", "stop").returncode == 0
    assert osvc(root, "journal", "verify").returncode == 0


def test_a_full_disk_writing_the_status_cache_is_exit_6(root):
    var_d1 = root / "var" / "d1"
    fill_up(var_d1)
    r = osvc(root, "-s", "d1", "print", "status", "--refresh")
    assert r.returncode == 6, r.stdout + r.stderr
    assert r.stderr == (f"osvc-engine: error: no space left on {var_d1} ({free_of(r.stderr, var_d1)} free) "
                        f"writing {var_d1}/status.json (No space left on device). Free space on {var_d1}, "
                        f"then retry\n")
    free(var_d1)
    assert osvc(root, "-s", "d1", "print", "status", "--refresh").returncode == 0


def test_a_full_disk_writing_the_lock_refuses_before_anything_runs(root):
    lock = root / "var" / "lock"
    fill_up(lock)
    seq = len(journal_rows(root))
    r = osvc(root, "-s", "d1", "start")
    assert r.returncode == 6, r.stdout + r.stderr
    assert r.stderr == (f"osvc-engine: error: no space left on {lock} ({free_of(r.stderr, lock)} free) "
                        f"writing {lock}/d1 (No space left on device). Free space on {lock}, then retry\n")
    assert len(journal_rows(root)) == seq and not (root / "app.up").exists()      # nothing done
    free(lock)
    assert osvc(root, "-s", "d1", "start").returncode == 0 and (root / "app.up").exists()


def test_a_full_disk_writing_the_status_cache_after_the_end_record_keeps_the_action_whole(root):
    """The disk fills after the action's end is journaled (the evaluation's check, once the app is up, fills it):
    the action stays ended, ok, in the journal; the status cache could not be written: exit 6, saying the action
    ended and what to run; that refresh, once there is room, writes it."""
    var_d1 = root / "var" / "d1"
    launcher = root / "etc" / "d1.d" / "fill"
    launcher.write_text(launcher.read_text().replace(
        'status) [ -e "$OSVC_ROOT/app.up" ] ;;',
        'status) [ -e "$OSVC_ROOT/fill.status" ] && [ -e "$OSVC_ROOT/app.up" ] &&\n'
        '          dd if=/dev/zero of="$OSVC_ROOT/var/d1/filler" bs=4k 2>/dev/null\n'
        '          [ -e "$OSVC_ROOT/app.up" ] ;;'))
    (root / "fill.status").touch()
    r = osvc(root, "-s", "d1", "start")
    assert r.returncode == 6, r.stdout + r.stderr
    [begin] = journal_rows(root, svc="d1", kind="action", event="begin")[-1:]
    assert r.stderr == (f"osvc-engine: error: no space left on {var_d1} ({free_of(r.stderr, var_d1)} free) "
                        f"writing {var_d1}/status.json (No space left on device): action 'start' "
                        f"[act:{begin['action_id'][:8]}] of d1 ended and is journaled, its status was not cached. "
                        f"Free space on {var_d1}, then run `osvc-engine -s d1 print status --refresh`\n")
    ends = journal_rows(root, action_id=begin["action_id"], kind="action", event="end")
    assert [e["payload"]["outcome"] for e in ends] == ["ok"] and (root / "app.up").exists()
    (root / "fill.status").unlink()
    os.unlink(var_d1 / "filler")
    r = osvc(root, "-s", "d1", "print", "status", "--refresh", "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["resources"]["app#1"]["status"] == "up", r.stdout + r.stderr
    assert osvc(root, "journal", "verify").returncode == 0
