"""OpenVZ: `vzctl` (state: simulators.core, tech `vz`; the VM's id is its CTID).

    vzctl start CTID       Starting container ... Container start in progress...
    vzctl stop CTID        Stopping container ...  (the container goes down in the background)
    vzctl status CTID      CTID 101 exist mounted running | exist unmounted down | deleted unmounted down
    vzctl exec CTID CMD    run CMD in a running container (/sbin/ifconfig -a, pwd, hostname...)

Each node mounts and runs its own containers: another node's running container shows
`exist unmounted down` here. A booting container is mounted but not yet running
(`exist mounted down`); a stopping one still runs until its shutdown is over.
"""

import sys

from simulators import core
from simulators.guest import guest_command

# vzctl exit codes (vzctl(8) EXIT STATUS)
VZ_VE_RUNNING = 32
VZ_VE_NOT_RUNNING = 31
VZ_NOCONFIG = 43


def get_ct(ctid, required=True):
    vm = core.find("vz", ctid)
    if vm is None and required:
        raise core.SimError("Container config file does not exist", VZ_NOCONFIG)
    return vm


def status_words(vm) -> str:
    if vm is None:
        return "deleted unmounted down"
    if not core.here(vm):
        return "exist unmounted down"
    return {"booting": "exist mounted down", "running": "exist mounted running",
            "stopping": "exist mounted running"}[vm["state"]]


def start(vm):
    if core.here(vm) and vm["state"] in ("booting", "running"):
        raise core.SimError("Container is already running", VZ_VE_RUNNING)
    if vm["state"] != "off":
        raise core.SimError(f"Unable to start: container private area is in use (running on {vm['node']})")
    core.stuck_if(vm, "start")
    print("Starting container ...")
    if core.failing(vm, "start"):
        raise core.SimError("Unable to start init, probably incorrect template\nContainer start failed")
    print("Container is mounted")
    print("Setting CPU units: 1000")
    print("Container start in progress...")
    core.set_state(vm, "booting")
    return 0


def stop(vm):
    if not core.here(vm) or vm["state"] == "off":
        raise core.SimError("Unable to stop: container is not running", VZ_VE_NOT_RUNNING)
    core.stuck_if(vm, "stop")
    print("Stopping container ...")
    if core.failing(vm, "stop"):
        raise core.SimError("Unable to stop container: operation timed out")
    if vm["state"] != "stopping":
        core.set_state(vm, "stopping")
    return 0


def ifconfig(vm):
    addr = core.vm_address(vm) or "0.0.0.0"
    print("lo        Link encap:Local Loopback\n          inet addr:127.0.0.1  Mask:255.0.0.0\n"
          "          UP LOOPBACK RUNNING  MTU:16436  Metric:1\n")
    print(f"venet0:0  Link encap:UNSPEC\n          inet addr:{addr}  P-t-P:{addr}  Bcast:{addr}  "
          f"Mask:255.255.255.255\n          UP BROADCAST POINTOPOINT RUNNING NOARP  MTU:1500  Metric:1")
    return 0


def exec_(vm, words):
    if not core.here(vm) or vm["state"] != "running" or vm["fail"].get("ssh") == "refuse":
        print("Container is not running", file=sys.stderr)
        return VZ_VE_NOT_RUNNING
    cmd = " ".join(words).split()
    if cmd and cmd[0] in ("/sbin/ifconfig", "ifconfig"):
        return ifconfig(vm)
    return guest_command(vm, words)


def main(argv):
    if len(argv) < 2:
        raise core.SimError("Usage: vzctl [options] <command> <ctid> [parameters]", 2)
    command, ctid, rest = argv[0], argv[1], argv[2:]
    if command == "status":
        print(f"CTID {ctid} {status_words(get_ct(ctid, required=False))}")
        return 0
    vm = get_ct(ctid)
    if command == "start":
        return start(vm)
    if command == "stop":
        return stop(vm)
    if command in ("exec", "exec2"):
        return exec_(vm, rest)
    raise core.SimError(f"Invalid action: {command}", 2)
