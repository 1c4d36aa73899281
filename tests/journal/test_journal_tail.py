"""journal tail / export / stats through the CLI, cursors, the text format, --since."""

import json

import msgpack
import pytest

from core.errors import JournalError, NotFound, UsageError
from postmortem import cli
from journal import cursor, lines as fmt
from journal.store import Journal
from journal.timespec import parse_time_ns
from tests.helpers.cli import run

T0 = 1_714_560_889_123_000_000   # 2024-05-01 10:54:49.123 UTC


class Clock:
    def __init__(self):
        self.ns = T0

    def __call__(self):
        self.ns += 250_000_000
        return self.ns - 250_000_000


RECORDS = [
    {"node": "node1", "svc": "ovmguest1", "kind": "action", "event": "begin", "action_id": "3f2a9c1e77aa",
     "payload": {"argv": ["osvc-engine", "-s", "ovmguest1", "start"]}},
    {"node": "node1", "svc": "ovmguest1", "rid": "ovm", "kind": "transition", "machine": "container",
     "event": "start", "src": "down", "dst": "starting", "action_id": "3f2a9c1e77aa"},
    {"node": "node1", "svc": "ovmguest1", "rid": "ovm", "kind": "command", "event": "exec",
     "action_id": "3f2a9c1e77aa",
     "payload": {"argv": ["ovm", "-u", "admin", "vm", "start", "-n", "ovmguest1"], "rc": 0, "duration": 1.2,
                 "output_tail": "Command: vm start\nStatus: Success"}},
    {"node": "node1", "svc": "web1", "kind": "action", "event": "refused",
     "payload": {"reason": "service is frozen", "argv": ["osvc-engine", "-s", "web1", "stop"]}},
    {"node": "node1", "svc": "web1", "rid": "ip#1", "kind": "observation", "event": "observed-down",
     "src": "up", "dst": "down", "payload": {"probe": "ping 10.0.0.5"}},
]

EXPECTED_TEXT = [
    "-- 2024-05-01 --",
    "10:54:49.123 node1    ovmguest1                begin                                 "
    "$ osvc-engine -s ovmguest1 start [act:3f2a9c1e]",
    "10:54:49.373 node1    ovmguest1.ovm            start          down -> starting       [act:3f2a9c1e]",
    "10:54:49.623 node1    ovmguest1.ovm            exec                                  "
    "$ ovm -u admin vm start -n ovmguest1 rc=0 1.20s [act:3f2a9c1e]",
    "10:54:49.873 node1    web1                     refused                               "
    "$ osvc-engine -s web1 stop reason: service is frozen",
    "10:54:50.123 node1    web1.ip#1                observed-down  up -> down             probe=\"ping 10.0.0.5\"",
]


@pytest.fixture
def journal(node, utc):
    j = Journal(node.journal_path, clock=Clock())
    for r in RECORDS:
        j.append_one(r)
    yield j
    j.close()


def test_text_format_is_exact(journal, capsys):
    rc, out, _ = run(capsys, "journal", "tail")
    assert rc == 0
    assert out.splitlines() == EXPECTED_TEXT


def test_filters_and_newest_n(journal, capsys):
    assert run(capsys, "journal", "tail", "-s", "web1")[1].splitlines() == [EXPECTED_TEXT[0], *EXPECTED_TEXT[4:]]
    assert run(capsys, "journal", "tail", "--rid", "ovm", "--kind", "command")[1].splitlines()[1:] == [EXPECTED_TEXT[3]]
    assert run(capsys, "journal", "tail", "--action", "3f2a9c1e77aa", "-n", "1")[1].splitlines()[1:] == \
        [EXPECTED_TEXT[3]]
    assert run(capsys, "journal", "tail", "-n", "2")[1].splitlines()[1:] == EXPECTED_TEXT[4:]
    assert run(capsys, "journal", "tail", "-n", "0")[1] == ""
    assert run(capsys, "journal", "tail", "--node", "node2")[1] == ""


def test_json_has_every_column_and_the_decoded_payload(journal, capsys):
    rc, out, _ = run(capsys, "journal", "tail", "-o", "json", "-n", "all")
    objs = [json.loads(x) for x in out.splitlines()]
    assert [o["seq"] for o in objs] == [1, 2, 3, 4, 5]
    third = objs[2]
    assert list(third) == ["seq", "ts", "hlc", "node", "svc", "rid", "kind", "machine", "event", "src", "dst",
                           "action_id", "payload", "durable", "hash"]
    assert third["payload"]["output_tail"] == "Command: vm start\nStatus: Success"
    assert third["ts"] == T0 + 500_000_000 and third["durable"] is True
    assert third["hash"] == journal.read(seq_min=3, seq_max=3)[0]["hash"]


def test_cursor_resumes_after_the_record(journal, capsys):
    rc, out, _ = run(capsys, "journal", "tail", "-n", "2", "--show-cursor")
    last = out.splitlines()[-1]
    assert last.startswith("-- cursor: j=" + journal.uuid + ";s=5;x=")
    c = last[len("-- cursor: "):]
    journal.append_one({"node": "node1", "svc": "web1", "kind": "action", "event": "end", "payload": {"rc": 0}})
    rc, out, _ = run(capsys, "journal", "tail", "--cursor", c)
    assert out.splitlines() == ["-- 2024-05-01 --",
                                "10:54:50.373 node1    web1                     end                                   rc=0"]
    rc, out, _ = run(capsys, "journal", "tail", "-o", "json", "--show-cursor", "-n", "1")
    assert json.loads(out)["cursor"] == cursor.make(journal.uuid, 6, journal.hash_at(6))


def test_cursor_errors_are_explicit(journal, tmp_path):
    good = cursor.make(journal.uuid, 3, journal.hash_at(3))
    assert cursor.resolve(journal, good) == 3 and cursor.is_valid(journal, good)
    with pytest.raises(UsageError, match="malformed cursor 'garbage'"):
        cursor.resolve(journal, "garbage")
    other = Journal(tmp_path / "other.db")
    other.append_one({"svc": "x"})
    with pytest.raises(NotFound, match=f"belongs to journal {other.uuid}, not to this one"):
        cursor.resolve(journal, cursor.make(other.uuid, 1, other.hash_at(1)))
    with pytest.raises(NotFound, match="points past the end .* seq 9, but the journal ends at seq 5"):
        cursor.resolve(journal, cursor.make(journal.uuid, 9, journal.hash_at(3)))
    with pytest.raises(JournalError, match="the record at seq 2 is not the one the cursor saw"):
        cursor.resolve(journal, cursor.make(journal.uuid, 2, journal.hash_at(3)))
    assert cursor.resolve(journal, cursor.make(journal.uuid, 0, journal.genesis)) == 0


def test_cursor_error_through_the_cli(journal, capsys):
    import cli as top

    bad = cursor.make("0" * 32, 1, b"\0" * 8)
    rc = top.main(["journal", "tail", "--cursor", bad])
    assert rc == 4
    assert capsys.readouterr().err.startswith(f"osvc-engine: error: cursor {bad} belongs to journal 000")


def test_cursor_file_is_read_and_updated(journal, capsys, tmp_path):
    cf = tmp_path / "cursor"
    run(capsys, "journal", "tail", "-n", "0", "--cursor-file", str(cf))
    assert cf.read_text().strip() == cursor.make(journal.uuid, 5, journal.hash_at(5))
    journal.append_one({"svc": "web1", "event": "end", "node": "node1"})
    rc, out, _ = run(capsys, "journal", "tail", "--cursor-file", str(cf))
    assert [line.split()[3] for line in out.splitlines()[1:]] == ["end"]
    assert cf.read_text().strip() == cursor.make(journal.uuid, 6, journal.hash_at(6))


def test_since(journal, capsys):
    rc, out, _ = run(capsys, "journal", "tail", "--since", "2024-05-01T10:54:49.800")
    assert out.splitlines()[1:] == EXPECTED_TEXT[4:]
    rc, out, _ = run(capsys, "journal", "tail", "--since", str((T0 + 700_000_000) / 1e9))
    assert out.splitlines()[1:] == EXPECTED_TEXT[4:]
    assert parse_time_ns("10m", now_ns=T0) == T0 - 600 * 10**9
    assert parse_time_ns("2h", now_ns=T0) == T0 - 7200 * 10**9
    assert parse_time_ns("1d", now_ns=T0) == T0 - 86400 * 10**9
    assert parse_time_ns("2024-05-01T10:54:49.123+00:00") == T0
    with pytest.raises(UsageError, match="cannot read time 'soon'"):
        parse_time_ns("soon")


def test_follow_stops_and_reports_a_journal_changing_underneath(journal):
    import io
    import sqlite3

    from journal.tail import tail

    out = io.StringIO()
    polls = iter(range(1000))

    def stop():
        n = next(polls)
        if n == 2:
            conn = sqlite3.connect(journal.path)
            conn.execute("DELETE FROM events WHERE seq >= 4")
            conn.commit()
            conn.close()
        return n > 50

    with pytest.raises(JournalError, match="changed under the follower: seq 5 is gone"):
        tail(journal, out, {}, after=0, last=None, follow=True, stop=stop, poll=0.001)


def test_follow_in_process_prints_new_records(journal):
    import io

    from journal.tail import tail

    out = io.StringIO()
    polls = iter(range(1000))

    def stop():
        n = next(polls)
        if n == 3:
            w = Journal(journal.path, clock=Clock())
            w.append_one({"svc": "late", "node": "node1", "event": "boot"})
            w.close()
        return "late" in out.getvalue()

    tail(journal, out, {"svc": "late"}, last=0, follow=True, stop=stop, poll=0.001, show_cursor=True)
    lines = out.getvalue().splitlines()
    assert lines[1].split()[2:4] == ["late", "boot"]
    assert lines[-1] == f"-- cursor: {cursor.make(journal.uuid, 6, journal.hash_at(6))}"


def test_export_jsonl_and_msgpack(journal, capsys, tmp_path):
    rc, out, _ = run(capsys, "journal", "export")
    assert [json.loads(x)["seq"] for x in out.splitlines()] == [1, 2, 3, 4, 5]
    dest = tmp_path / "out.msgpack"
    rc, _, err = run(capsys, "journal", "export", "--format", "msgpack", "-o", str(dest), "-s", "web1")
    assert err == f"exported 2 records to {dest} (msgpack)\n"
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    with open(dest, "rb") as f:
        recs = list(msgpack.Unpacker(f, raw=False))
    assert [r["seq"] for r in recs] == [4, 5]
    assert recs[0]["payload"]["reason"] == "service is frozen" and len(recs[0]["hash"]) == 32


def test_stats(journal, capsys):
    rc, out, _ = run(capsys, "journal", "stats")
    lines = out.splitlines()
    assert lines[0] == f"journal   {journal.path}"
    assert lines[2] == "records   5 (seq 1..5; 5 durable, 0 relaxed)"
    assert lines[4:7] == ["first     2024-05-01 10:54:49.123", "last      2024-05-01 10:54:50.123",
                          "span      00:00:01"]
    assert lines[7:] == ["kinds", "  action       2", "  command      1", "  observation  1", "  transition   1"]
    rc, out, _ = run(capsys, "journal", "stats", "-o", "json")
    data = json.loads(out)
    assert data["records"] == 5 and data["kinds"]["action"] == 2 and data["size_bytes"] > 0


def test_missing_journal_is_a_clear_error(node, capsys):
    import cli as top

    assert top.main(["journal", "tail"]) == 4
    assert capsys.readouterr().err == (f"osvc-engine: error: no journal at {node.journal_path}: nothing was "
                                       f"journaled on this node yet, or OSVC_ROOT points elsewhere\n")


@pytest.mark.parametrize("sub", ["tail", "verify", "export", "stats"])
def test_every_subcommand_help_has_an_example(sub, capsys):
    with pytest.raises(SystemExit):
        cli.main([sub, "--help"])
    assert "examples:\n  osvc-engine journal " + sub in capsys.readouterr().out


def test_detail_summary_is_short_and_ordered():
    assert fmt.detail({"rc": 1, "argv": ["a", "b c"], "pid": 42, "stdout": "x" * 500}) == "$ a 'b c' rc=1 pid=42"
    long = fmt.detail({"note": "y" * 300, "k": list(range(100))})
    assert len(long) <= fmt.DETAIL_MAX


def test_detail_keeps_one_record_on_one_line():
    from journal.lines import detail

    text = detail({"argv": ["losetup", "-f"], "rc": 0, "out_tail": "/dev/loop0\n", "err_tail": "a\tb"})
    assert "\n" not in text and "\t" not in text
    assert 'out_tail="/dev/loop0\\n"' in text
