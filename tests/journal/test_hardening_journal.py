"""Issue 17, the journal's items: 11 (a deleted journal whose anchor stayed), 12 (a full disk), 13 (a
read-only journal), 14 (cursor edge cases), 15 (a tolerated rc drawn as a failure). Mounts are real (a
tmpfs, read-only bind mounts): those tests need root."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from core.errors import JournalError, NotFound, UsageError
from journal import anchor, cursor
from journal.store import Journal
from journal.verify import verify
from tests.helpers import journal_scenarios as js
from tests.helpers.cli import osvc, run, write_launcher
from tests.helpers.disk import fill_up, mount, umount
from tests.helpers.paths import REPO


def snapshot(folder):
    """{name: (sha256, size, mtime_ns)} of every file in `folder`: what a reader must leave as it found."""
    out = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        st = os.stat(path)
        with open(path, "rb") as f:
            out[name] = (hashlib.sha256(f.read()).hexdigest(), st.st_size, st.st_mtime_ns)
    return out


def fill_journal(path, n=5, svc="web", action_id=""):
    j = Journal(path)
    for i in range(n):
        j.append_one({"node": "node1", "svc": svc, "kind": "observation", "event": "status",
                      "action_id": action_id, "payload": {"i": i}})
    return j


# -- 11: a deleted journal whose head anchor stayed ---------------------------------------------------------


def delete_database(path):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.unlink(f"{path}{suffix}")


def test_verify_reports_a_deleted_journal_whose_anchor_stayed(osvc_root, node):
    j = fill_journal(node.journal_path, n=7)
    uuid, anchor_path = j.uuid, j.anchor_path
    j.close()
    delete_database(node.journal_path)
    for argv in (("verify",), ("tail",), ("audit",), ("stats",)):
        r = osvc(osvc_root, "journal", *argv)
        assert r.returncode == 6, (argv, r.stderr)
        assert r.stderr == (
            f"osvc-engine: error: journal {node.journal_path} is missing, but its head anchor {anchor_path} is "
            f"there: it records journal {uuid} up to seq 7. The journal was deleted, moved or emptied (or var/ "
            f"restored without it), so its history is not here; nothing was read or written. Restore journal.db "
            f"(and journal.db-wal if there is one) from a copy; to start a new journal instead, move the anchor "
            f"away first and keep it as evidence: `mv {anchor_path} {anchor_path}.lost`\n")
    assert sorted(os.listdir(node.var)) == ["journal.db.head"]


def test_no_action_starts_a_new_chain_beside_the_anchor_of_a_deleted_journal(osvc_root, node):
    state = js.make_web(osvc_root)
    assert osvc(osvc_root, "-s", "web", "start").returncode == 0
    kept = node.journal_path.with_name("journal.db.head").read_bytes()
    old = anchor.best(kept)
    delete_database(node.journal_path)
    r = osvc(osvc_root, "-s", "web", "stop")
    assert r.returncode == 6, r.stdout + r.stderr
    assert f"its head anchor {node.journal_path}.head is there: it records journal {old.uuid} up to seq {old.seq}" \
        in r.stderr
    assert not node.journal_path.exists()                            # no new chain
    assert node.journal_path.with_name("journal.db.head").read_bytes() == kept   # the anchor untouched
    assert (state / "a").exists()                                    # and nothing was acted on
    with pytest.raises(JournalError, match="is missing, but its head anchor"):
        Journal(node.journal_path)
    # The way out the message gives: the anchor kept aside, a new journal starts.
    os.rename(f"{node.journal_path}.head", f"{node.journal_path}.head.lost")
    assert osvc(osvc_root, "-s", "web", "stop").returncode == 0
    assert osvc(osvc_root, "journal", "verify").returncode == 0


def test_an_emptied_journal_beside_its_anchor_is_refused(tmp_path):
    path = tmp_path / "journal.db"
    fill_journal(path).close()
    head = path.with_name("journal.db.head")
    kept = head.read_bytes()
    delete_database(path)
    path.write_bytes(b"")
    with pytest.raises(JournalError, match=rf"journal {path} is empty \(it holds no journal\), but its head anchor"):
        Journal(path)
    with pytest.raises(JournalError, match="is empty"):
        Journal(path, create=False, readonly=True)
    assert path.read_bytes() == b"" and head.read_bytes() == kept


def test_appends_never_overwrite_an_anchor_that_names_another_journal(tmp_path):
    path = tmp_path / "journal.db"
    first = fill_journal(path, n=4)
    first.close()
    head = path.with_name("journal.db.head")
    kept = head.read_bytes()
    other = fill_journal(tmp_path / "b" / "journal.db", n=2)
    other.close()
    delete_database(path)
    shutil.copy(other.path, path)             # the database replaced by another journal
    j = Journal(path)
    with pytest.raises(JournalError) as info:
        j.append_one({"svc": "web"})
    assert str(info.value).startswith(
        f"journal {path} is journal {other.uuid}, but its head anchor {path}.head records journal {first.uuid} "
        f"(up to seq 4): the database was replaced or recreated. Nothing was written")
    assert "`cp " in str(info.value) and "osvc-engine journal verify --reanchor`" in str(info.value)
    assert j.last_seq() == 2 and head.read_bytes() == kept
    with pytest.raises(JournalError, match="belongs to journal"):
        verify(j)


# -- 12: a full disk ----------------------------------------------------------------------------------------


@pytest.fixture
def tiny_fs(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)], check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    yield mnt
    umount(mnt)


@pytest.mark.root
def test_a_full_disk_met_while_opening_is_a_full_disk_not_an_io_error(tiny_fs):
    path = tiny_fs / "journal.db"
    fill_journal(path).close()                    # closed: the -wal and -shm are gone
    fill_up(tiny_fs)
    with pytest.raises(JournalError) as info:
        Journal(path)                             # SQLite says "disk I/O error" (it cannot make the -shm)
    assert str(info.value) == (f"journal {path}: the disk is full (disk I/O error); nothing was opened. "
                               f"Free space on its filesystem, then retry")
    assert verify(Journal(path, create=False, readonly=True)).records == 5   # read even now (immutable)


@pytest.mark.root
def test_a_full_disk_during_an_action_names_the_recover_that_closes_it(tiny_fs):
    path = tiny_fs / "journal.db"
    aid = "ab12cd34ef56ab78"
    j = Journal(path)
    j.append_one({"node": "node1", "svc": "web", "kind": "action", "event": "begin", "action_id": aid,
                  "payload": {"action": "start"}})
    fill_up(tiny_fs)
    with pytest.raises(JournalError) as info:
        for i in range(100):
            j.append_one({"node": "node1", "svc": "web", "rid": "fs#1", "kind": "transition", "event": "start",
                          "action_id": aid, "payload": {"blob": os.urandom(2000), "i": i}})
    free = str(info.value).split("(", 1)[1].split(" free)")[0]
    assert str(info.value) == (
        f"no space left on {tiny_fs} ({free} free) writing {path} (database or disk is full): nothing of this "
        f"write was journaled, and action 'start' [act:ab12cd34] of web stays open. Free space on {tiny_fs}, "
        f"then run `osvc-engine -s web recover`")
    seq = j.last_seq()
    # Without an open action (the records of no action, or its end already journaled): "then retry".
    with pytest.raises(JournalError, match=r"the disk is full .*Free space on its filesystem, then retry$"):
        j.append_one({"node": "node1", "svc": "web", "payload": {"blob": os.urandom(8000)}})
    j.close()
    for name in ("filler", "filler2"):
        os.unlink(tiny_fs / name)
    j = Journal(path)
    assert verify(j).records == seq and j.last_seq() == seq


# The full disk met by a real action. A launcher fills var/ (a 4 MiB tmpfs) once fs#1 is mounted: the
# next record of the action cannot be journaled.
FILLER = """\
case "$1" in
  start) [ -e "$OSVC_ROOT/fill.on" ] && dd if=/dev/zero of="$OSVC_ROOT/var/filler" bs=4k 2>/dev/null
         touch "$OSVC_ROOT/app.up" ;;
  stop) rm -f "$OSVC_ROOT/app.up" ;;
  status) [ -e "$OSVC_ROOT/app.up" ] ;;
esac
"""


@pytest.fixture
def full_var(tmp_path):
    """(root, mnt): service d1 (a tmpfs fs#1, then app#1 whose start fills var/ when root/fill.on
    exists), started and stopped once; var/ is a 4 MiB tmpfs."""
    root = tmp_path / "root"
    for sub in ("etc", "var", "log"):
        (root / sub).mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=755", "tmpfs", str(root / "var")],
                      check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    mnt = tmp_path / "mnt"
    (root / "etc" / "d1.env").write_text(f"[DEFAULT]\nnodes = node1\n\n[fs#1]\ntype = tmpfs\ndev = tmpfs\n"
                                         f"mnt = {mnt}\n\n[app#1]\nscript = fill\nstart = 10\nstop = 10\n"
                                         f"check = 10\n")
    write_launcher(root / "etc" / "d1.d" / "fill", FILLER)
    for argv in (("start",), ("stop",)):
        r = osvc(root, "-s", "d1", *argv)
        assert r.returncode == 0, r.stdout + r.stderr
    (root / "fill.on").touch()
    yield root, mnt
    subprocess.run(["umount", str(mnt)], check=False, capture_output=True)
    umount(root / "var")


def mounted(path):
    return subprocess.run(["findmnt", "-n", str(path)], check=False, capture_output=True).returncode == 0


def free_var(root):
    for path in (root / "var" / "filler", root / "fill.on"):
        if path.exists():
            path.unlink()


@pytest.mark.root
def test_a_full_disk_mid_action_leaves_the_journal_whole_and_recover_closes_the_action(full_var):
    root, mnt = full_var
    r = osvc(root, "-s", "d1", "start")
    assert r.returncode != 0
    assert mounted(mnt)                      # fs#1 was mounted before the disk filled up
    free_var(root)
    r = osvc(root, "journal", "verify")
    assert r.returncode == 0, r.stderr
    r = osvc(root, "-s", "d1", "recover")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "recovered" in r.stdout
    entries = json.loads(osvc(root, "journal", "audit", "-s", "d1", "--format", "json").stdout)
    assert entries[-1]["outcome"] == "interrupted"
    r = osvc(root, "-s", "d1", "stop")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not mounted(mnt)
    assert osvc(root, "journal", "verify").returncode == 0
    assert osvc(root, "journal", "replay", "--check").returncode == 0


@pytest.mark.root
def test_a_full_disk_mid_action_exits_6_naming_recover_without_a_traceback(full_var):
    root, mnt = full_var
    r = osvc(root, "-s", "d1", "start")
    var = root / "var"
    assert r.returncode == 6, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert f"no space left on {var} (" in r.stderr and f"writing {var}/journal.db" in r.stderr
    assert "then run `osvc-engine -s d1 recover`" in r.stderr
    assert mounted(mnt)                       # left for recover: no unjournaled rollback
    free_var(root)
    r = osvc(root, "-s", "d1", "recover")
    assert r.returncode == 0 and "recovered" in r.stdout, r.stdout + r.stderr
    assert osvc(root, "journal", "verify").returncode == 0


# -- 13: a read-only journal --------------------------------------------------------------------------------


def crash_leaving_the_wal(path, n=40):
    """Append n records in a child that dies without closing: the WAL (and its -shm) stay, unmerged."""
    code = (f"import os, sys; from journal.store import Journal; j = Journal(sys.argv[1]); "
            f"[j.append_one({{'svc': 'web', 'kind': 'observation', 'event': 'x', 'payload': {{'i': i}}}}) "
            f"for i in range({n})]; os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(path)], check=True,
                   cwd=str(REPO))


@pytest.fixture(scope="module")
def evidence_source(tmp_path_factory):
    """A node root holding the journal of real actions (started, stopped, a failed start rolled back,
    a refusal), then records a crashed writer left in the WAL."""
    root = tmp_path_factory.mktemp("evidence")
    for sub in ("etc", "var", "log"):
        (root / sub).mkdir()
    js.run_history(root, js.make_web(root))
    crash_leaving_the_wal(root / "var" / "journal.db")
    assert os.path.getsize(root / "var" / "journal.db-wal") > 0
    return root


def read_only_copy(src, dst, layout):
    """dst/var: a copy of src/var's journal files, as `layout` says, then read-only (0555 and a read-only
    bind mount, root ignores the mode)."""
    var = dst / "var"
    var.mkdir(parents=True)
    (dst / "etc").mkdir()
    files = {"crashed": ("", "-wal", "-shm", ".head"), "wal-without-shm": ("", "-wal", ".head")}.get(layout)
    if layout == "clean":           # the journal as a clean close leaves it: the WAL merged into the file
        shutil.copy(src / "var" / "journal.db.head", var)
        db = sqlite_copy(src / "var" / "journal.db", var / "journal.db")
        assert db == ["journal.db"]
    else:
        for suffix in files:
            shutil.copy(src / "var" / f"journal.db{suffix}", var)
    var.chmod(0o555)
    mount("--bind", str(var), str(var))
    mount("-o", "remount,bind,ro", str(var))
    return var


def sqlite_copy(src, dst):
    """A consistent copy of src (its WAL merged) at dst, read through a read-only connection: src keeps
    its WAL for the other layouts."""
    import sqlite3

    conn = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    out = sqlite3.connect(str(dst))
    conn.backup(out)
    out.execute("PRAGMA journal_mode=WAL")
    out.close()
    conn.close()
    return sorted(p.name for p in dst.parent.iterdir() if p.name.startswith("journal.db") and p.suffix != ".head")


READS = [("verify",), ("tail", "-n", "all"), ("tail", "-n", "all", "-o", "json"), ("audit", "-s", "web"),
         ("stats",), ("export",), ("replay", "-s", "web"), ("replay", "-s", "web", "--format", "json"),
         ("replay", "--check")]


@pytest.mark.root
@pytest.mark.parametrize("layout", ["clean", "crashed", "wal-without-shm"])
def test_every_read_path_reads_a_read_only_journal_and_writes_nothing_beside_it(evidence_source, tmp_path,
                                                                                layout):
    dst = tmp_path / "copy"
    copies = {p for p in os.listdir("/tmp") if p.startswith("osvc-journal-")}
    var = read_only_copy(evidence_source, dst, layout)
    try:
        before = snapshot(var)
        expected = None
        for argv in READS:
            r = osvc(dst, "journal", *argv)
            if argv == ("replay", "--check"):    # no states.json in the copy: divergences, not an error
                assert r.returncode == 1 and "cannot open" not in r.stderr, r.stderr
                continue
            assert r.returncode == 0, (argv, r.stderr)
            if argv == ("verify",):
                assert " records, chain intact, head anchor consistent" in r.stdout
                expected = r.stdout.split(": ", 1)[1].split(" records")[0]
            if argv == ("stats",):
                assert f"records   {expected} " in r.stdout
        out = tmp_path / "web.html"
        r = osvc(dst, "journal", "report", "-s", "web", "-o", str(out))
        assert r.returncode == 0 and out.exists(), r.stderr
        r = osvc(dst, "journal", "export", "-o", str(tmp_path / "all.jsonl"))
        assert r.returncode == 0 and len((tmp_path / "all.jsonl").read_text().splitlines()) == int(expected)
        assert snapshot(var) == before          # not a byte, not a file
        # Writing is refused clearly (a read-only mount), and still writes nothing.
        r = osvc(dst, "journal", "verify", "--reanchor")
        assert r.returncode == 6 and "Traceback" not in r.stderr, r.stderr
        assert snapshot(var) == before
    finally:
        umount(var)
    assert {p for p in os.listdir("/tmp") if p.startswith("osvc-journal-")} <= copies   # the private copy is gone


@pytest.mark.root
def test_the_verify_helper_opens_a_read_only_journal_read_only(evidence_source, tmp_path, monkeypatch):
    from journal import verify as v

    var = read_only_copy(evidence_source, tmp_path / "copy", "crashed")
    try:
        before = snapshot(var)
        monkeypatch.setattr(v, "PARALLEL_MIN", 0)
        monkeypatch.setattr(v, "_can_fork", lambda journal: True)
        forked = []
        real = v._Helper

        class Recorded(real):
            def __init__(self, *a, **k):
                forked.append(1)
                super().__init__(*a, **k)

        monkeypatch.setattr(v, "_Helper", Recorded)
        with Journal(var / "journal.db", create=False, readonly=True) as j:
            n = sum(1 for _ in v.iter_verified(j, decoded=False, chunk=7))
            assert n == j.last_seq() > 40
        assert forked and snapshot(var) == before
    finally:
        umount(var)


def test_a_reader_never_creates_the_schema_or_the_anchor(tmp_path):
    path = tmp_path / "journal.db"
    path.write_bytes(b"")
    with pytest.raises(NotFound, match=f"journal {path} is empty: nothing was journaled"):
        Journal(path, create=False, readonly=True)
    assert sorted(os.listdir(tmp_path)) == ["journal.db"] and path.read_bytes() == b""
    j = fill_journal(tmp_path / "b.db")
    with Journal(j.path, create=False, readonly=True) as r:
        with pytest.raises(JournalError, match="is open read-only .*nothing was written"):
            r.append_one({"svc": "x"})
        assert r.last_seq() == 5


# -- 14: cursors --------------------------------------------------------------------------------------------


@pytest.fixture
def small_journal(node):
    j = fill_journal(node.journal_path, n=3)
    yield j
    j.close()


def test_an_empty_cursor_is_an_error(small_journal, capsys):
    import cli

    for text in ("", "  "):
        assert cli.main(["journal", "tail", "--cursor", text]) == 2
        assert capsys.readouterr().err == (
            "osvc-engine: error: empty cursor: pass a cursor printed by `osvc-engine journal tail "
            "--show-cursor`, or leave --cursor out to start from the newest records\n")


@pytest.mark.parametrize("content", [b"root:x:0:0:root:/root:/bin/bash\nsecret-hunter2\n",
                                     b"j=" + b"a" * 400, "\u00e9t\u00e9 secret-hunter2".encode(),
                                     bytes(range(256))])
def test_a_cursor_file_s_content_is_never_echoed(small_journal, capsys, tmp_path, content):
    import cli

    cf = tmp_path / "passwd"
    cf.write_bytes(content)
    assert cli.main(["journal", "tail", "--cursor-file", str(cf)]) == 2
    out, err = capsys.readouterr()
    assert err == (f"osvc-engine: error: the cursor file {cf} does not hold a cursor (one line `j=...;s=...;x=...` "
                   f"written by `osvc-engine journal tail --cursor-file`): point --cursor-file at another file, "
                   f"or remove this one if it is a stale cursor file\n")
    assert out == "" and cf.read_bytes() == content


def test_an_unreadable_cursor_file_is_named_not_a_traceback(small_journal, capsys, tmp_path):
    import cli

    assert cli.main(["journal", "tail", "--cursor-file", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"osvc-engine: error: cannot read the cursor file {tmp_path}: Is a directory\n"


def test_an_empty_cursor_file_is_a_follower_s_first_run(small_journal, capsys, tmp_path):
    cf = tmp_path / "cursor"
    cf.write_text("")                 # mktemp made it
    rc, out, _ = run(capsys, "journal", "tail", "--cursor-file", str(cf))
    assert rc == 0 and len(out.splitlines()) == 4         # the date line, then the 3 records
    assert cf.read_text().strip() == cursor.make(small_journal.uuid, 3, small_journal.hash_at(3))


def test_a_cursor_at_s_0_is_the_start_of_the_journal(small_journal, capsys):
    import cli

    j = small_journal
    start = cursor.make(j.uuid, 0, j.genesis)
    rc, out, _ = run(capsys, "journal", "tail", "--cursor", start)
    assert rc == 0 and len(out.splitlines()) == 4
    bad = f"j={j.uuid};s=0;x={'0' * 16}"
    assert cli.main(["journal", "tail", "--cursor", bad]) == 2
    err = capsys.readouterr().err
    assert err == (f"osvc-engine: error: cursor {bad}: s=0 is the start of journal {j.uuid} (before its first "
                   f"record), whose start mark is x={j.genesis[:8].hex()}, not x={'0' * 16}: the cursor was edited "
                   f"or made by hand. Leave --cursor out to read from the start, or pass a cursor printed by "
                   f"`osvc-engine journal tail --show-cursor`\n")
    assert "history rewritten" not in err
    with pytest.raises(UsageError):
        cursor.resolve(j, bad)
    assert not cursor.is_valid(j, bad) and cursor.is_valid(j, start)


# -- 15: a tolerated rc is not a failure --------------------------------------------------------------------

IP_START = "e5e5e5e5e5e5e5e5"
ARPING = ["arping", "-U", "-c", "1", "-I", "eth0", "-s", "10.0.0.5", "10.0.0.5"]


def ip_start(w, tolerated=None, fail_after=False, t=0, aid=IP_START):
    """A start of an ip whose gratuitous arping exits 1 (nobody answers it): the driver goes on. With
    fail_after, the driver then fails on that rc (a launcher's non-zero exit)."""
    more = {} if tolerated is None else {"tolerated": tolerated}
    w.begin(t, aid, "start")
    w.move(t + 5, aid, "", "service", "start", "idle", "starting", action="start")
    w.move(t + 6, aid, "ip#1", "resource", "start", "down", "starting")
    w.command(t + 30, aid, "ip#1", ["ip", "addr", "add", "10.0.0.5/24", "dev", "eth0"], duration=0.02)
    w.at(t + 1040, aid, "command", "arping", rid="ip#1", argv=ARPING, rc=1, duration=1.0, out_tail="Sent 1 probes",
         err_tail="", pid=901, timeout=False, **more)
    if fail_after:
        w.move(t + 1042, aid, "ip#1", "resource", "start_failed", "starting", "start-failed", duration=1.036,
               reason="arping failed (rc 1)")
        w.move(t + 1045, aid, "", "service", "start_failed", "starting", "start-failed")
        w.end(t + 1050, aid, "start", outcome="failed", rc=1, duration=1.05)
        return
    w.move(t + 1042, aid, "ip#1", "resource", "started", "starting", "up", duration=1.036)
    w.move(t + 1045, aid, "", "service", "started", "starting", "started")
    w.end(t + 1050, aid, "start", duration=1.05)


def page_of(root, svc="ip1"):
    from tests.postmortem.test_report import Tree

    out = root / "r.html"
    r = osvc(root, "journal", "report", "-s", svc, "-o", str(out))
    assert r.returncode == 0, r.stderr
    return Tree(out.read_text()).root


@pytest.mark.parametrize("said", [None, True], ids=["runner-says-nothing", "runner-says-tolerated"])
def test_a_tolerated_rc_is_not_drawn_as_a_failure(osvc_root, node, utc, said):
    w = js.Writer(node.journal_path, svc="ip1")
    ip_start(w, tolerated=said)
    w.close()
    tree = page_of(osvc_root)
    svg = tree.find("svg", "timeline")[0]
    assert svg.find("g", "fail-mark") == []
    assert [b.classes for b in svg.find("rect", "cmd")] == [["cmd"], ["cmd", "tolerated"]]
    assert "rc=1 (tolerated)" in svg.find("rect", "tolerated")[0].find("title")[0].text
    rows = tree.find("tr", "command")
    assert [(r.classes, r.find("td")[3].text) for r in rows] == [(["command"], "0"),
                                                                 (["command", "tolerated"], "1 (tolerated)")]
    assert "command rc tolerated by its driver" in tree.find("p", "legend")[0].all_text()
    entry = json.loads(osvc(osvc_root, "journal", "audit", "-s", "ip1", "--format", "json").stdout)[0]
    assert [(c["rc"], c["tolerated"]) for c in entry["commands"]] == [(0, False), (1, True)]
    assert entry["outcome"] == "ok"


@pytest.mark.parametrize("said", [None, True, False])
def test_a_non_zero_rc_the_driver_failed_on_stays_a_failure(osvc_root, node, utc, said):
    w = js.Writer(node.journal_path, svc="ip1")
    ip_start(w, tolerated=said, fail_after=True)
    w.close()
    tree = page_of(osvc_root)
    svg = tree.find("svg", "timeline")[0]
    assert [b.classes for b in svg.find("rect", "cmd")] == [["cmd"], ["cmd", "failed"]]
    assert len(svg.find("g", "fail-mark")) == 3       # the service's failed start, ip#1's, the arping
    assert [r.classes for r in tree.find("tr", "command")] == [["command"], ["command", "failed"]]


def test_the_runner_s_word_decides_when_nothing_follows(node):
    from postmortem.audit import tolerated_rc

    base = {"argv": ARPING, "rc": 1, "timeout": False}
    assert tolerated_rc({**base, "tolerated": True}, None)      # the action died right after
    assert not tolerated_rc(base, None)                         # no word, nothing after: a failure
    assert not tolerated_rc({**base, "tolerated": False}, {"kind": "command", "event": "ip"})
    assert not tolerated_rc({**base, "rc": 0}, None) and not tolerated_rc({**base, "timeout": True}, None)


def test_the_tail_line_says_tolerated_when_the_runner_did(node, utc):
    from journal import lines as fmt

    rec = {"ts": js.T0, "node": "node1", "svc": "ip1", "rid": "ip#1", "kind": "command", "event": "arping",
           "action_id": IP_START, "payload": {"argv": ["arping", "-c", "1"], "rc": 1, "tolerated": True,
                                              "duration": 1.0, "timeout": False}}
    assert fmt.line(rec).endswith("arping                                $ arping -c 1 rc=1 (tolerated) 1.00s "
                                  "[act:e5e5e5e5]")
    rec["payload"]["tolerated"] = False
    assert "rc=1 1.00s [act:e5e5e5e5]" in fmt.line(rec)
