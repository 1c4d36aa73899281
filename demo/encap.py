"""`make demo`, part 5: an encapsulated service on a real LXC guest (docs/encapsulation-and-cluster.md §1).

hv1 is this machine (a node root under a temporary folder); vm1 is a busybox container (tests/helpers/guest.py:
the host's /usr/bin, the checkout and the venv bound read-only, its own network namespace) running this same
osvc-engine under its own root and journal. The service's container is hv1's to start; its app, tagged
encap, is the guest's. hv1 starts the service (the container, then the guest engine through lxc-attach, one
action id in both journals), both levels print their tree, an edit made in the guest comes back with `push`
(newest wins), and the stop runs the guest's part first. Everything is torn down at the end (container,
namespace, folders), also on failure or Ctrl-C.
"""

import shlex
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.helpers.guest import LxcGuest, lxc_missing  # noqa: E402

APP = """#!/bin/sh
case "$1" in
start) echo started > /tmp/db.up ;;
stop) rm -f /tmp/db.up ;;
status) test -f /tmp/db.up ;;
esac
"""
SCRIPT = "/var/lib/osvc-engine/etc/vmsvc.d/db"


def show(where, res, args):
    print(f"\n\033[1m{where}$ osvc-engine {shlex.join(args)}\033[0m", flush=True)
    sys.stdout.write(res.stdout + res.stderr)
    if res.returncode != 0:
        raise SystemExit(f"exit {res.returncode}")


def main():
    missing = lxc_missing()
    if missing:
        print(f"(skipped: {missing})")
        return
    with tempfile.TemporaryDirectory(prefix="osvc-encap-demo.") as tmp:
        guest = LxcGuest(Path(tmp), name="vm1")
        try:
            guest.create()
            hv1 = guest.host_root(Path(tmp) / "hv1")
            conf = hv1 / "etc" / "node.conf"
            conf.write_text(conf.read_text().replace(
                "[container]\n", f"[container]\nguest_engine = {guest.engine_path}\nguest_path = {guest.path}\n", 1))
            env = hv1 / "etc" / "vmsvc.env"
            env.write_text("[DEFAULT]\nnodes = hv1\nencapnodes = vm1\nnodes@encapnodes = vm1\n\n"
                           + guest.container_section()
                           + f"[app#1]\ntags = encap\nscript = {SCRIPT}\nstart = 10\nstop = 90\ncheck = 10\n")
            guest.write(SCRIPT, APP, mode=0o755)

            def on_hv1(*args):
                show("hv1", guest.host_osvc(hv1, *args), args)

            def in_vm1(*args):
                show("vm1", guest.engine(*args), args)

            print(f"hv1: {hv1}; vm1: an LXC busybox guest, its engine at {guest.engine_path}")
            show("hv1", guest.host_osvc(hv1, "-s", "vmsvc", "print", "config"), ("-s", "vmsvc", "print", "config"))
            on_hv1("-s", "vmsvc", "start")
            on_hv1("-s", "vmsvc", "print", "status")          # the hypervisor's view: the guest folded in
            in_vm1("-s", "vmsvc", "print", "status")          # the container's view: its own resources
            in_vm1("journal", "tail", "-n", "6")              # the guest's journal: the host's action id
            # an edit made in the guest is newer: push fetches it back to the hypervisor
            guest_env = guest.root_on_host / "etc" / "vmsvc.env"
            guest_env.write_text(guest_env.read_text() + "# tuned in vm1\n")
            later = time.time() + 5
            import os

            os.utime(guest_env, (later, later))
            on_hv1("-s", "vmsvc", "push")
            on_hv1("-s", "vmsvc", "stop")
            on_hv1("journal", "tail", "-s", "vmsvc", "--kind", "transition", "-n", "8")
        finally:
            guest.destroy()


if __name__ == "__main__":
    main()
