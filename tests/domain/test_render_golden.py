"""Golden `print status` trees: each scenario's resources -> aggregate() -> saved json -> render() -> saved tree.

tests/data/status/<name>.json pins the document (docs/design.md §4) and <name>.txt the tree, byte for byte.
The trees were written from the grammar of docs/agent-reference.md §3.2 and reviewed line by line; to rewrite them
after a deliberate change: OSVC_REGEN_GOLDEN=1 pytest tests/domain/test_render_golden.py, then review the diff.
"""

import json
import os
import re

import pytest

from domain.render import render
from domain.status import aggregate, forge_encap_down
from tests.helpers.paths import DATA

DATA = DATA / "status"
UPDATED = "2024-05-06T07:08:09.123456Z"
REGEN = os.environ.get("OSVC_REGEN_GOLDEN") == "1"


def render_many(docs):
    """Several trees the way a script joins them: one blank line between two (a tree never contains
    an empty line, so the output splits back on blank lines)."""
    return "\n".join(render(doc) for doc in docs)


def res(rid, type_, status, label, **kw):
    entry = dict(rid=rid, type=type_, status=status, label=label, log=[], monitor=False, disable=False,
                 optional=False, encap=False, tags=[], state={"up": "up", "stdby up": "up"}.get(status, "down"))
    entry.update(kw)
    return entry


def enc(rid, type_, status, label, **kw):
    return res(rid, type_, status, label, encap=True, tags=["encap"] + kw.pop("tags", []), **kw)


def doc(resources, encap=None, svcname="svc1", nodename="node1", frozen=False):
    return aggregate(resources, encap, svcname=svcname, nodename=nodename, frozen=frozen, updated=UPDATED)


def deb1():
    """The docs/design.md §4 example: the guest lists ip#2 before ip#1, the app is n/a with its 1.5 log."""
    guest = doc([enc("ip#2", "ip", "up", "128.0.0.2@lo"), enc("ip#1", "ip", "up", "deb1@eth0")],
                svcname="deb1.opensvc.com", nodename="deb1")
    return doc([res("container#0", "container.lxc", "up", "deb1"),
                enc("ip#1", "ip", "undef", "deb1@eth0"), enc("ip#2", "ip", "undef", "128.0.0.2@lo"),
                res("fs#1", "fs", "up", "/dev/mapper/data-deb1@/deb1"),
                res("app", "app", "n/a", "app", log=["no checkup scripts"]),
                res("sync#i0", "sync.rsync", "up", "rsync svc config to drpnodes, nodes"),
                res("sync#1", "sync.btrfs", "up", "btrfs of deb1:deb1 to ['nodes']")],
               {"deb1": guest}, svcname="deb1.opensvc.com")


def vm188():
    """The VM cookbook's seed (hpvm container, ip, vmdg), config order container#1, ip#1, vmdg."""
    return doc([res("container#1", "container.hpvm", "up", "vm188", monitor=True),
                res("ip#1", "ip", "up", "vm188@lan0"),
                res("vmdg", "disk.vmdg", "n/a", "vmdg vmdg"),
                res("app", "app", "n/a", "app", log=["no checkup scripts"]),
                res("sync#i0", "sync.rsync", "up", "rsync svc config to drpnodes, nodes")],
               svcname="vm188", nodename="node109")


def ovmguest1():
    """The OVM page's seed: implicit container rid `ovm`, HA by hb#1 (hb.ovm), not enabled yet."""
    return doc([res("ovm", "container.ovm", "up", "ovmguest1"),
                res("hb#1", "hb.ovm", "warn", "ovmguest1", log=["HA not enabled for this VM"],
                    state="ha-disabled"),
                res("app", "app", "n/a", "app", log=["no checkup scripts"]),
                res("sync#i0", "sync.rsync", "up", "rsync svc config to drpnodes, nodes")],
               svcname="ovmguest1", nodename="ovmnode1")


def disabled():
    """Disabled resources: n/a, D flag, `# disabled`, left out of every group (avail stays up)."""
    return doc([res("ip#1", "ip", "up", "10.0.0.1@eth0"),
                res("ip#2", "ip", "down", "10.0.0.2@eth0", disable=True),
                res("fs#1", "fs", "up", "/dev/loop0@/srv"),
                res("sync#1", "sync.rsync", "down", "rsync /srv to nodes", disable=True)])


def logs():
    """Several log lines, under a non-last resource (rail `|  |  `), a wrapped long line, a log
    under the last resource and under the last hb resource."""
    return doc([res("disk#1", "disk.loop", "warn", "/var/lib/svc1/disk.img",
                    log=["loop device /dev/loop3 is attached twice", "second attach by pid 4242",
                         "the backing file /var/lib/svc1/disk.img is on a filesystem mounted "
                         "read-only since the last reboot of this node"]),
                res("fs#1", "fs", "down", "/dev/loop3@/srv", monitor=True, optional=True,
                    log=["fs is not responding to stat"]),
                res("hb#1", "hb.openha", "up", "openha", monitor=True),
                res("hb#2", "hb.ovm", "warn", "ovmguest1", log=["OVM agent daemons are not running"])])


def empty():
    """No resource at all: every group n/a, sync and hb still printed, avail has no children."""
    return doc([])


def containers():
    """Two containers with encap children, neither the last avail row (rail `|`; encap_down has the
    blank rail of a last one), a log under a container with children, a log under an encap child."""
    g1 = doc([enc("ip#1", "ip", "up", "10.0.0.11@eth0"), enc("fs#1", "fs", "up", "/dev/vdb@/data"),
              enc("app#1", "app", "up", "db", log=["check reports ok"])], svcname="svc1", nodename="vm1")
    g2 = doc([enc("ip#1", "ip", "up", "10.0.0.12@eth0"), enc("fs#1", "fs", "up", "/dev/vdb@/data"),
              enc("app#1", "app", "up", "db", log=["check reports ok"])], svcname="svc1", nodename="vm2")
    return doc([res("container#1", "container.kvm", "up", "vm1", log=["guest agent answered in 2s"]),
                res("container#2", "container.kvm", "up", "vm2"),
                enc("ip#1", "ip", "undef", "10.0.0.10@eth0"), enc("fs#1", "fs", "undef", "/dev/vdb@/data"),
                enc("app#1", "app", "undef", "db"),
                res("disk#1", "disk.scsireserv", "up", "/dev/sdb,/dev/sdc")],
               {"vm1": g1, "vm2": g2})


def frozen():
    return doc([res("container#1", "container.lxc", "up", "lxc1"), res("ip#1", "ip", "up", "10.0.0.1@br0")],
               frozen=True)


def encap_down():
    """The container is down: the host forges its guest's document (down, app/sync n/a)."""
    encaps = [enc("ip#1", "ip", "up", "10.0.0.11@eth0"), enc("fs#1", "fs", "up", "/dev/vdb@/data"),
              enc("app#1", "app", "up", "db"), enc("sync#1", "sync.rsync", "up", "rsync /data to drpnodes")]
    return doc([res("container#1", "container.xen", "down", "vm1", monitor=True)] + encaps,
               {"vm1": forge_encap_down(encaps)})


def standby():
    """Standby (always_on) resources: a `stdby down` status overflows its 8-wide field like 1.5 did."""
    return doc([res("disk#1", "disk.drbd", "stdby up", "drbd r0"),
                res("fs#1", "fs", "stdby down", "/dev/drbd0@/srv"),
                res("sync#1", "sync.rsync", "down", "rsync /srv to drpnodes")])


SCENARIOS = {f.__name__: f for f in (deb1, vm188, ovmguest1, disabled, logs, empty, containers, frozen,
                                     encap_down, standby)}


def _saved(path, text):
    if REGEN:
        path.write_text(text)
    return path.read_text()


@pytest.mark.parametrize("name", SCENARIOS)
def test_document_is_the_saved_one(name):
    text = json.dumps(SCENARIOS[name](), indent=2) + "\n"
    assert text == _saved(DATA / f"{name}.json", text)


@pytest.mark.parametrize("name", SCENARIOS)
def test_tree_is_the_golden_one(name):
    saved = json.loads((DATA / f"{name}.json").read_text())
    out = render(saved)
    assert out == _saved(DATA / f"{name}.txt", out)


@pytest.mark.parametrize("name", SCENARIOS)
def test_json_round_trip(name):
    d = SCENARIOS[name]()
    assert render(json.loads(json.dumps(d))) == render(d)


def test_design_example_byte_for_byte():
    """The tree printed in docs/design.md §4, copied verbatim."""
    expected = (
        "deb1.opensvc.com\n"
        "overall                   up\n"
        "|- avail                  up\n"
        "|  |- container#0    .... up       deb1\n"
        "|  |  |- ip#2        ...E up       128.0.0.2@lo\n"
        "|  |  '- ip#1        ...E up       deb1@eth0\n"
        "|  |- fs#1           .... up       /dev/mapper/data-deb1@/deb1\n"
        "|  '- app            .... n/a      app\n"
        "|                                  # no checkup scripts\n"
        "|- sync                   up\n"
        "|  |- sync#i0        .... up       rsync svc config to drpnodes, nodes\n"
        "|  '- sync#1         .... up       btrfs of deb1:deb1 to ['nodes']\n"
        "'- hb                     n/a\n"
    )
    assert render(deb1()) == expected


STATUS_AT_26 = re.compile(r"(up|down|warn|n/a|undef|stdby up|stdby down)( |$)")


def test_every_golden_keeps_the_columns():
    """The grammar over every golden: a row has its flags at 21-24, its status at 26 and its label on
    column 35 (later only when a status overflows its 8-wide field, as `stdby down` does); a log line
    has `# ` on column 35 and its wrapped continuation text on column 37; no trailing blanks."""
    for name in SCENARIOS:
        for line in (DATA / f"{name}.txt").read_text().splitlines()[1:]:
            assert line == line.rstrip(), (name, line)
            body = line.lstrip("|' ")
            if not re.match(r"[|' ]*[|'][-] |overall ", line):          # a log line
                assert len(line) - len(body) in (35, 37), (name, line)
                assert body.startswith("#") == (len(line) - len(body) == 35), (name, line)
                continue
            assert line[20] == " " and line[25] == " ", (name, line)
            assert re.fullmatch(r"[M.][D.][O.][E.]| {4}", line[21:25]), (name, line)
            status = STATUS_AT_26.match(line, 26).group(1)
            label_at = 26 + max(8, len(status)) + 1
            assert len(line) <= label_at or line[label_at - 1] == " " and line[label_at] != " ", (name, line)


def test_render_many_separates_trees_with_one_blank_line():
    out = render_many([vm188(), empty()])
    assert out == render(vm188()) + "\n" + render(empty())
    assert out.split("\n\n") == [render(vm188()).rstrip("\n"), render(empty())]
