"""The renderer beyond the goldens: colour, wrapping, saved documents of other shapes, errors, imports."""

import json
import re
import subprocess
import sys

import pytest

from core.errors import OsvcError
from domain.render import render
from test_render_golden import DATA, SCENARIOS, deb1, doc, enc, render_many, res
from tests.helpers.paths import REPO

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("name", SCENARIOS)
def test_colour_only_adds_codes(name):
    """Pad first, colour after: without its ANSI codes the coloured tree is the plain one."""
    d = SCENARIOS[name]()
    coloured = render(d, color=True)
    assert ANSI.sub("", coloured) == render(d)
    assert "\x1b[" not in render(d)


def test_colour_codes():
    out = render(SCENARIOS["logs"](), color=True).splitlines()
    assert out[0] == "\x1b[1msvc1\x1b[0m"
    assert out[1] == "overall                   \x1b[33mwarn\x1b[0m"
    assert out[3] == "|  |- disk#1         .... \x1b[33mwarn\x1b[0m     /var/lib/svc1/disk.img"
    assert out[9] == "|  '- fs#1           M.O. \x1b[31mdown\x1b[0m     /dev/loop3@/srv"
    assert out[11] == "|- sync                   \x1b[94mn/a\x1b[0m"
    assert out[13] == "   |- hb#1           M... \x1b[32mup\x1b[0m       openha"
    standby = render(SCENARIOS["standby"](), color=True).splitlines()
    assert standby[3] == "|  |- disk#1         .... \x1b[32mstdby up\x1b[0m drbd r0"
    assert standby[4] == "|  '- fs#1           .... \x1b[31mstdby down\x1b[0m /dev/drbd0@/srv"


def test_frozen_label_with_colour():
    out = render(SCENARIOS["frozen"](), color=True).splitlines()
    assert out[1] == "overall                   \x1b[32mup\x1b[0m       frozen"


def test_long_log_wraps_at_78_and_long_words_stay_whole():
    path = "/very/long/" + "x" * 60
    d = doc([res("fs#1", "fs", "down", "/dev/sdb@/srv",
                  log=["mount failed: " + path + " does not exist", "a\nb"]),
             res("ip#1", "ip", "up", "10.0.0.1@eth0")])
    lines = render(d).splitlines()
    assert lines[3:9] == [
        "|  |- fs#1           .... down     /dev/sdb@/srv",
        "|  |                               # mount failed:",
        "|  |                                 " + path,
        "|  |                                 does not exist",
        "|  |                               # a",
        "|  |                               # b",
    ]
    assert all(len(ln) <= 78 for ln in lines if path not in ln)


def test_empty_log_message_keeps_its_mark():
    d = doc([res("app", "app", "n/a", "app", log=[""])])
    assert render(d).splitlines()[4] == "|                                  #"


def test_a_1_5_agent_document_renders():
    """A 1.5 `json status` (no type/tags/state, the log a `# ` string, groups as strings) renders too;
    the family comes from the rid."""
    saved = {
        "svcname": "vm188",
        "resources": {
            "container#1": {"status": "up", "label": "vm188", "log": "", "monitor": True, "disable": False,
                            "optional": False, "encap": False},
            "vmdg": {"status": "n/a", "label": "vmdg vmdg", "log": "# no reservation\n# second\n",
                     "monitor": False, "disable": False, "optional": False, "encap": False},
            "ip#1": {"status": "up", "label": "vm188@lan0", "log": "", "monitor": False, "disable": False,
                     "optional": False, "encap": False},
        },
        "container": "up", "ip": "up", "disk": "n/a", "fs": "n/a", "share": "n/a", "sync": "n/a",
        "app": "n/a", "hb": "n/a", "overall": "up", "avail": "up",
    }
    assert render(saved) == (
        "vm188\n"
        "overall                   up\n"
        "|- avail                  up\n"
        "|  |- container#1    M... up       vm188\n"
        "|  |- vmdg           .... n/a      vmdg vmdg\n"
        "|  |                               # no reservation\n"
        "|  |                               # second\n"
        "|  '- ip#1           .... up       vm188@lan0\n"
        "|- sync                   n/a\n"
        "'- hb                     n/a\n")


def test_encap_children_found_by_container_rid_and_orphans_ignored():
    g = doc([enc("ip#1", "ip", "up", "10.0.0.11@eth0")])
    host = doc([res("container#1", "container.kvm", "up", "")], {"container#1": g, "elsewhere": g})
    assert render(host).splitlines()[3:5] == [
        "|  '- container#1    .... up",
        "|     '- ip#1        ...E up       10.0.0.11@eth0",
    ]


def test_guest_resources_not_encap_tagged_are_not_children():
    g = doc([enc("ip#1", "ip", "up", "10.0.0.11@eth0"), res("sync#i0", "sync.rsync", "up", "internal")])
    host = doc([res("container#1", "container.kvm", "up", "vm1")], {"vm1": g})
    assert "internal" not in render(host)


def test_host_document_with_encap_rows_draws_them_once():
    """A saved host document that kept its encap rows shows them only under the container."""
    d = deb1()
    d["resources"]["ip#1"] = dict(d["encap"]["deb1"]["resources"]["ip#1"], status="undef")
    assert render(d) == render(deb1())


def test_render_many_of_saved_documents():
    docs = [json.loads((DATA / f"{n}.json").read_text()) for n in ("vm188", "ovmguest1")]
    assert render_many(docs) == (DATA / "vm188.txt").read_text() + "\n" + (DATA / "ovmguest1.txt").read_text()
    assert render_many([]) == ""


@pytest.mark.parametrize("bad,message", [
    ([], "status document: expected a json object"),
    ({"svcname": "x"}, "status document: missing resources, overall, avail"),
    ({"svcname": "x", "resources": {}, "overall": "upp", "avail": "up"},
     "status document: overall: unknown status value 'upp'"),
    ({"svcname": "x", "resources": {"st#1": {"type": "stonith", "status": "up"}}, "overall": "up",
      "avail": "up"}, "status document: resource st#1 has type 'stonith' of an unknown family"),
    ({"svcname": "x", "resources": {"ip#1": {"type": "ip"}}, "overall": "up", "avail": "up"},
     "status document: resource ip#1: unknown status value None"),
])
def test_bad_document_is_one_clear_error(bad, message):
    with pytest.raises(OsvcError) as exc:
        render(bad)
    assert str(exc.value).startswith(message)


def test_imports_stay_light():
    """print status pays for no dependency: importing both modules loads nothing outside the project's own layers."""
    code = ("import sys; before = set(sys.modules); import domain.render, domain.status; "
            "print(sorted({m.split('.')[0] for m in set(sys.modules) - before}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['core', 'domain']"
