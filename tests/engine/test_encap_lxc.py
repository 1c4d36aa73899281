"""Encapsulation with a real LXC guest (docs/encapsulation-and-cluster.md §3.1): the host engine starts
the busybox container, then reaches the same osvc-engine inside it with lxc-attach; the guest acts on
the encap resources under its own root and journal (in its rootfs, read from here for the asserts)."""

import json
import os
import time

import pytest

from tests.helpers.cli import osvc

pytestmark = pytest.mark.root

WEB = """#!/bin/sh
# a guest application: its file in the guest's /tmp says it runs; /tmp/web.fail makes its start fail
case "$1" in
start) [ -e /tmp/web.fail ] && { echo "web cannot start" >&2; exit 1; }; echo started > /tmp/web.up ;;
stop) rm -f /tmp/web.up ;;
status) test -f /tmp/web.up ;;
esac
"""
SCRIPT = "/var/lib/osvc-engine/etc/vmsvc.d/web"


def ok(res):
    assert res.returncode == 0, f"rc {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    return res


class Service:
    """The host root hv1 with the two-level service vmsvc: the LXC container and, tagged encap, the
    guest's app."""

    def __init__(self, guest, tmp_path, engine=None):
        self.guest = guest
        self.root = guest.host_root(tmp_path / "hv1")
        conf = self.root / "etc" / "node.conf"
        conf.write_text(conf.read_text().replace(
            "[container]\n", f"[container]\nguest_engine = {engine or guest.engine_path}\n"
                             f"guest_path = {guest.path}\nguest_timeout = 60\n", 1))
        self.env = self.root / "etc" / "vmsvc.env"
        self.env.write_text(
            f"[DEFAULT]\nnodes = hv1\nencapnodes = {guest.name}\nnodes@encapnodes = {guest.name}\n\n"
            + guest.container_section()
            + f"[app#1]\ntags = encap\nscript = {SCRIPT}\nstart = 10\nstop = 90\ncheck = 10\n")
        guest.write(SCRIPT, WEB, mode=0o755)
        self.up_file = guest.rootfs / "tmp" / "web.up"

    def osvc(self, *args):
        return self.guest.host_osvc(self.root, "-s", "vmsvc", *args)

    def rows(self, **kw):
        from tests.helpers.cli import journal_rows

        return journal_rows(self.root, **kw)


def begin_id(rows):
    return [r for r in rows if (r["kind"], r["event"]) == ("action", "begin")][-1]["action_id"]


def test_start_and_stop_reach_the_guest_engine_with_one_action_id(lxc_guest, tmp_path):
    svc = Service(lxc_guest, tmp_path)
    r = ok(svc.osvc("start"))
    assert lxc_guest.state() == "RUNNING" and svc.up_file.read_text() == "started\n"
    assert f"INFO    VMSVC.ENCAP:CONTAINER#1 lxc-attach -n {lxc_guest.name}" in r.stdout
    host = svc.rows()
    aid = begin_id(host)
    guest = lxc_guest.journal_rows(svc="vmsvc")
    assert begin_id(guest) == aid
    launch = [x for x in host if x["event"] == "launch" and x["action_id"] == aid][0]
    assert all(x["hlc"] > launch["hlc"] for x in guest if x["action_id"] == aid)
    assert [x for x in guest if (x["kind"], x["event"]) == ("action", "begin")][-1]["payload"]["parent"]["seq"] == \
        launch["seq"]
    # the guest's journal stands on its own: the host can verify it
    assert "chain intact" in ok(osvc(lxc_guest.root_on_host, "journal", "verify", node=lxc_guest.name)).stdout

    # both trees: the hypervisor's folds the guest under its container, the guest shows its own part
    assert ok(svc.osvc("print", "status")).stdout == (
        "vmsvc\n"
        "overall                   up\n"
        "|- avail                  up\n"
        f"|  '- container#1    .... up       {lxc_guest.name}\n"
        "|     '- app#1       ...E up       web\n"
        "|- sync                   n/a\n"
        "'- hb                     n/a\n")
    assert ok(lxc_guest.engine("-s", "vmsvc", "print", "status")).stdout == (
        "vmsvc\n"
        "overall                   up\n"
        "|- avail                  up\n"
        "|  '- app#1          ...E up       web\n"
        "|- sync                   n/a\n"
        "'- hb                     n/a\n")

    r = ok(svc.osvc("stop"))
    assert not svc.up_file.exists() and lxc_guest.state() == "STOPPED"
    host = svc.rows()
    aid = begin_id(host)
    stopping = [x["rid"] for x in host if x["action_id"] == aid and x.get("dst") == "stopping" and x["rid"]]
    assert stopping == ["encap:container#1", "container#1"]
    assert begin_id(lxc_guest.journal_rows(svc="vmsvc")) == aid
    # the container is down: the guest's part is forged down (app n/a), with the labels it last gave
    assert ok(svc.osvc("print", "status")).stdout == (
        "vmsvc\n"
        "overall                   down\n"
        "|- avail                  down\n"
        f"|  '- container#1    .... down     {lxc_guest.name}\n"
        "|     '- app#1       ...E n/a      web\n"
        "|- sync                   n/a\n"
        "'- hb                     n/a\n")


def test_a_failing_guest_app_rolls_back_the_host_and_the_halves_run_alone(lxc_guest, tmp_path):
    svc = Service(lxc_guest, tmp_path)
    lxc_guest.write("/tmp/web.fail", "")
    r = svc.osvc("start")
    assert r.returncode == 1
    assert "error from encap service command 'start' in container" in r.stdout + r.stderr
    assert "web cannot start" in r.stdout                  # the guest's own log, through lxc-attach
    assert lxc_guest.state() == "STOPPED"                   # the host rolled its container back
    (lxc_guest.rootfs / "tmp" / "web.fail").unlink()

    ok(svc.osvc("start", "--master"))                       # the host's part only
    assert lxc_guest.state() == "RUNNING" and not svc.up_file.exists()
    r = svc.osvc("startapp")
    assert r.returncode != 0 and "specify either --master, --slave(s) or both (startapp)" in r.stderr
    ok(svc.osvc("startapp", "--slave", lxc_guest.name))     # only the guest's apps
    assert svc.up_file.exists()
    ok(svc.osvc("stopapp", "--slaves"))
    assert not svc.up_file.exists() and lxc_guest.state() == "RUNNING"
    ok(svc.osvc("stop"))


def test_push_newest_wins_between_host_and_guest(lxc_guest, tmp_path):
    svc = Service(lxc_guest, tmp_path)
    ok(svc.osvc("start", "--master"))
    r = ok(svc.osvc("push"))
    assert f"send {svc.env} to {lxc_guest.name}" in r.stdout
    guest_env = lxc_guest.root_on_host / "etc" / "vmsvc.env"
    assert guest_env.read_text() == svc.env.read_text()
    assert int(guest_env.stat().st_mtime) == int(svc.env.stat().st_mtime)
    # edited in the guest, later: fetched, the host copy takes the guest's mtime
    guest_env.write_text(guest_env.read_text() + "# tuned in the guest\n")
    later = time.time() + 10
    os.utime(guest_env, (later, later))
    r = ok(svc.osvc("push"))
    assert f"fetch {svc.env} from {lxc_guest.name}" in r.stdout
    assert svc.env.read_text().endswith("# tuned in the guest\n") and int(svc.env.stat().st_mtime) == int(later)
    events = [(x["event"], x["payload"]["container"]) for x in svc.rows(kind="encap")]
    assert events == [("send", lxc_guest.name), ("fetch", lxc_guest.name)]
    ok(svc.osvc("stop"))


def test_a_guest_without_the_engine_cannot_be_joined(lxc_guest, tmp_path):
    svc = Service(lxc_guest, tmp_path, engine="/nonexistent/osvc-engine")
    r = svc.osvc("start")
    assert r.returncode == 1
    assert f"cannot join the guest engine of container {lxc_guest.name}: '/nonexistent/osvc-engine' not " \
           "found in the guest (rc 127)" in r.stdout + r.stderr
    ok(svc.osvc("start", "--master"))
    doc = json.loads(ok(svc.osvc("print", "status", "--refresh", "--format", "json")).stdout)
    guest = doc["encap"][lxc_guest.name]
    assert (guest["avail"], guest["overall"], guest["resources"]["app#1"]["status"]) == ("n/a", "n/a", "n/a")
    r = ok(svc.osvc("stop"))
    assert "stop goes on without the guest" in r.stdout + r.stderr
    assert lxc_guest.state() == "STOPPED"
