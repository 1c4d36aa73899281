"""`journal report`: the page's structure, parsed with html.parser (lanes, bars whose widths are their
durations times one scale, failure marks, command rows, the status trees before and after), that it needs
nothing outside itself, and, where chromium is installed, what a real headless browser makes of it.
"""

import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest

from tests.helpers import journal_scenarios as js
from tests.helpers.cli import osvc

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr", "source"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], ""

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, tag=None, cls=None):
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)]

    def all_text(self):
        return self.text + "".join(c.all_text() for c in self.children)


class Tree(HTMLParser):
    """The page as a tree of nodes (a few lines instead of a dependency)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#root", {}, None)
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        node = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None, f"</{tag}> closes nothing"
        self.cur = node.parent

    def handle_data(self, data):
        self.cur.text += data


STATUS_META = {"ip#1": ["ip", "10.0.0.5@eth0", False, False, False, False, []],
               "container#1": ["container.ovm", "vm1", False, False, False, False, []],
               "hb#1": ["hb.ovm", "vm1", False, False, False, False, []]}


def status_record(w, ms, aid, value):
    """The engine's status observation (engine.history.fold.status_payload's shape), every resource at value."""
    w.at(ms, aid, "observation", "status", resources={rid: [value, []] for rid in STATUS_META},
         overall=value, avail=value, mh="m1", meta=STATUS_META)


@pytest.fixture
def vm_journal(node, utc):
    w = js.Writer(node.journal_path)
    status_record(w, -1000, "", "down")
    js.vm_start(w)
    status_record(w, 5913, js.START, "up")
    js.vm_migrate(w)
    yield node
    w.close()


def report(root, *args):
    out = root / "report.html"
    r = osvc(root, "journal", "report", "-s", *args, "-o", str(out))
    assert r.returncode == 0, r.stderr
    return out.read_text(), r.stderr


def bars(tree, cls="phase"):
    return [(b.attrs["data-rid"], b.attrs.get("data-state"), float(b.attrs["data-duration"]),
             float(b.attrs["width"]), "failed" in b.classes) for b in tree.find("rect", cls)]


def test_vm_start_page_structure(vm_journal):
    text, err = report(vm_journal.root, "vm1", "--action", "a1a1")
    assert "report of vm1 start [act:a1a1a1a1] written to" in err
    tree = Tree(text).root
    svg = tree.find("svg", "timeline")[0]
    scale = float(svg.attrs["data-scale"])
    assert [g.attrs["data-rid"] for g in svg.find("g", "lane")] == ["", "ip#1", "container#1", "hb#1"]
    assert [lane.find("text", "lane-name")[0].text for lane in svg.find("g", "lane")] == \
        ["vm1", "ip#1", "container#1", "hb#1"]
    phases = bars(svg)
    assert [(rid, state, dur) for rid, state, dur, _, _ in phases] == [
        ("", "starting", 5.905), ("ip#1", "starting", 0.046), ("container#1", "starting", 1.202),
        ("container#1", "wait-up", 1.2), ("container#1", "wait-ping", 2.31),
        ("container#1", "wait-operational", 0.4), ("hb#1", "ha-enabling", 0.735)]
    for rid, state, dur, width, _ in phases:           # one scale for every bar: widths are durations
        assert width == pytest.approx(dur * scale, abs=1e-3), (rid, state)
    # the picture spans the action: 5.912 s over the plot's width
    assert scale == pytest.approx((1000 - 150 - 20) / 5.912, rel=1e-6)
    cmds = bars(svg, "cmd")
    assert [(rid, dur) for rid, _, dur, _, _ in cmds] == [("ip#1", 0.02), ("container#1", 1.2),
                                                         ("container#1", 0.03), ("hb#1", 0.7)]
    assert all(w == pytest.approx(d * scale, abs=1e-3) for _, _, d, w, _ in cmds)
    assert svg.find("g", "fail-mark") == [] and not any(f for *_, f in phases)
    ticks = [t.text for t in svg.find("text", "tick-label")]
    assert ticks == ["0", "+1.00s", "+2.00s", "+3.00s", "+4.00s", "+5.00s"]
    rows = tree.find("tr", "command")
    assert [[td.all_text() for td in row.find("td")][:5] for row in rows] == [
        ["ip#1", "+30ms", "20ms", "0", "ip addr add 10.0.0.5/24 dev eth0"],
        ["container#1", "+53ms", "1.20s", "0", "ovm -u admin vm start -n vm1"],
        ["container#1", "+4.77s", "30ms", "0", "ssh vm1 pwd"],
        ["hb#1", "+5.20s", "700ms", "0", "ovm -u admin vm conf -e -n vm1"]]
    assert rows[1].find("pre")[0].text == "Status: Success"
    summary = {tr.find("td")[0].text: tr.find("td")[1].text for tr in tree.find("table", "summary")[0].find("tr")}
    assert summary["outcome"] == "ok" and summary["who"] == "admin (pid 4242)" and summary["duration"] == "5.91s"
    assert summary["argv"] == "osvc-engine -s vm1 start --cluster"


def test_status_before_and_after_are_the_rendered_replays(vm_journal):
    from domain.render import render
    from engine.history.views import replay_service
    from journal.store import Journal

    text, _ = report(vm_journal.root, "vm1", "--action", "a1a1")
    tree = Tree(text).root
    before = tree.find("div", "before")[0].find("pre", "tree")[0].text
    after = tree.find("div", "after")[0].find("pre", "tree")[0].text
    with Journal(vm_journal.journal_path) as j:
        seqs = [r["seq"] for r in j.read(action_id=js.START)]
        assert before == render(replay_service(j, "vm1", seq=seqs[0] - 1).document())
        assert after == render(replay_service(j, "vm1", seq=seqs[-1]).document())
    assert before.splitlines()[1] == "overall                   down"
    assert after.splitlines()[1] == "overall                   up"
    assert "|  |- container#1    .... up       vm1" in after.splitlines()


def test_default_is_the_latest_action_that_ran(vm_journal):
    js.refused(js.Writer(vm_journal.journal_path), t=30_000)
    text, err = report(vm_journal.root, "vm1")
    assert "report of vm1 migrate [act:b2b2b2b2]" in err
    tree = Tree(text).root
    assert [b[:2] for b in bars(tree)] == [("", "migrating"), ("container#1", "migrating")]


def test_failed_start_is_marked(history):
    text, err = report(history, "web")        # the refused start never ran: the failed one is the latest
    assert "report of web start" in err
    tree = Tree(text).root
    svg = tree.find("svg", "timeline")[0]
    assert [g.attrs["data-rid"] for g in svg.find("g", "lane")] == ["", "app#1", "app#2", "app#3"]
    phases = [(rid, state, failed) for rid, state, _, _, failed in bars(svg)]
    assert phases == [("", "starting", True), ("", "rolling-back", False),        # lane by lane
                      ("app#1", "starting", False), ("app#1", "stopping", False),
                      ("app#2", "starting", False), ("app#2", "stopping", False), ("app#3", "starting", True)]
    scale = float(svg.attrs["data-scale"])
    assert all(w == pytest.approx(d * scale, abs=1e-3) for _, _, d, w, _ in bars(svg) + bars(svg, "cmd"))
    marks = svg.find("g", "fail-mark")
    assert len(marks) == 3            # the service's failed start, app#3's, and app#3's command rc=1
    assert all("failed" in m.find("title")[0].text or "rc=1" in m.find("title")[0].text for m in marks)
    rows = tree.find("tr", "command")
    assert [("failed" in r.classes, r.find("td")[3].text) for r in rows] == [
        (False, "0"), (False, "0"), (True, "1"), (False, "0"), (False, "0")]
    assert rows[2].find("pre")[0].text == "c cannot start"
    summary = tree.find("table", "summary")[0].all_text()
    assert "undid app#2 (down), app#1 (down): rolled_back" in summary
    assert tree.find("span", "outcome-failed")[0].text == "failed"


def test_page_needs_nothing_outside_itself(history):
    text, _ = report(history, "web")
    for needle in ("src=", "href=", "url(", "@import", "<script", "<link", "<img", "<iframe"):
        assert needle not in text, needle
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 1


def test_unknown_action_is_refused_with_a_hint(history):
    r = osvc(history, "journal", "report", "-s", "web", "--action", "ffffffff", "-o", str(history / "x.html"))
    assert r.returncode == 4
    assert "no action 'ffffffff' of service web in the journal: list them with `osvc-engine journal audit -s web`" \
        in r.stderr
    r = osvc(history, "journal", "report", "-s", "nosuch", "-o", str(history / "x.html"))
    assert r.returncode == 4 and "no action of service nosuch in the journal" in r.stderr
    assert not (history / "x.html").exists()


# -- a real browser ------------------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


def chromium(*args):
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", "--disable-extensions", *args],
                          capture_output=True, text=True, timeout=120)


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB or RGBA PNG (what chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if ctype == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
        elif ctype == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = 4 if color == 6 else 3
    raw, stride, prev, rows = zlib.decompress(idat), width * bpp, bytearray(width * bpp), []
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


@needs_chromium
def test_headless_chromium_draws_the_page(history, tmp_path):
    from postmortem import report as rep

    text, _ = report(history, "web")
    page = history / "report.html"
    dom = chromium("--dump-dom", f"file://{page}")
    assert dom.returncode == 0, dom.stderr
    seen = Tree(dom.stdout).root
    mine = Tree(text).root
    # the browser read the picture as written: same lanes, same bars, same marks, same rows
    assert [g.attrs["data-rid"] for g in seen.find("g", "lane")] == [g.attrs["data-rid"] for g in mine.find("g", "lane")]
    assert bars(seen) == bars(mine) and bars(seen, "cmd") == bars(mine, "cmd")
    assert len(seen.find("g", "fail-mark")) == 3 and len(seen.find("tr", "command")) == 5

    shot = tmp_path / "page.png"
    r = chromium(f"--screenshot={shot}", "--window-size=1100,640", f"file://{page}")
    assert r.returncode == 0 and shot.exists(), r.stderr
    width, height, rows = png_pixels(shot)
    assert (width, height) == (1100, 640)
    colors = {px for row in rows for px in row}
    hexrgb = lambda h: tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))
    # the bars are painted in their states' colours, and the failure marks in red
    for name in ("starting", "stopping", "rolling-back"):
        assert hexrgb(rep.COLORS[name]) in colors, name
    assert hexrgb(rep.FAIL) in colors


def test_interrupted_action_shows_its_recovery(node, utc):
    w = js.Writer(node.journal_path)
    js.vm_crash_and_recover(w)
    w.close()
    text, _ = report(node.root, "vm1")
    tree = Tree(text).root
    summary = {tr.find("td")[0].text: tr.find("td")[1].text for tr in tree.find("table", "summary")[0].find("tr")}
    assert summary["outcome"] == "interrupted"
    assert summary["interrupted"] == ("its process 4242 is gone; recovered by root (pid 5151): "
                                      "osvc-engine -s vm1 recover")
    svg = tree.find("svg", "timeline")[0]
    marks = [(p.parent.attrs["data-rid"], p.find("title")[0].text) for p in svg.find("path", "recovery")]
    assert marks == [("", "vm1 recovered: starting -> started (recover_started)"),
                     ("container#1", "container#1 recovered: wait-ping -> up (recover_up)")]
    # wait-ping lasted until the recovery closed it: 90.3 s of the 92.714 s the action stayed open
    ping = [b for b in bars(svg) if b[1] == "wait-ping"][0]
    assert ping[2] == pytest.approx(90.3) and ping[3] == pytest.approx(90.3 * float(svg.attrs["data-scale"]), abs=1e-3)
