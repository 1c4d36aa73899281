"""Issue 17 item 10: a newline (or any control character) in a value is drawn escaped in the status tree, so every
row stays one line and no escape sequence reaches the terminal but the colours the renderer draws itself."""

from domain.render import render


def doc(resources, svcname="web"):
    return {"svcname": svcname, "overall": "up", "avail": "up", "sync": "n/a", "hb": "n/a",
            "resources": resources}


def res(status, label, log=(), rtype="ip"):
    return {"status": status, "label": label, "type": rtype, "log": list(log)}


def test_a_newline_in_a_label_stays_on_its_row():
    out = render(doc({"ip#1": res("up", "a\nb@eth0\r")}))
    assert out.splitlines()[3] == "|  '- ip#1           .... up       a\\nb@eth0\\r"
    assert len(out.splitlines()) == 6           # name, overall, avail, ip#1, sync, hb


def test_escape_sequences_are_escaped_in_names_labels_and_logs():
    out = render(doc({"ip#1\x1b[2J": res("down", "x\x1b[31my\x9b", log=["bad\x1b]0;title\x07 value"])},
                     svcname="web\x1b[8m"), color=True)
    lines = out.splitlines()
    assert lines[0] == "\x1b[1mweb\\x1b[8m\x1b[0m"
    assert lines[3].startswith("|  '- ip#1\\x1b[2J") and lines[3].endswith("x\\x1b[31my\\x9b")
    assert lines[4] == "|                                  # bad\\x1b]0;title\\x07 value"
    assert "\x07" not in out and "\x9b" not in out and "\x1b[2J" not in out and "\x1b[8m" not in out


def test_multi_line_log_messages_still_get_one_mark_per_line():
    lines = render(doc({"ip#1": res("up", "l", log=["a\nb"])})).splitlines()
    assert lines[4:6] == ["|                                  # a", "|                                  # b"]
