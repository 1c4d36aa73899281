"""The guests' side: `ssh` to a simulated VM reaches its (simulated) sshd; any other host gets the
real /usr/bin/ssh.

A guest answers only while its VM runs on some node (`running`), and not with `ssh=refuse`.
It knows a few commands, as a minimal guest OS would answer them:

    pwd                      -> /root
    true                     -> rc 0
    hostname                 -> the VM name
    ip -o addr show [dev D]  -> the VM's address on D (default eth0), one `ip -o` line
    /usr/sbin/init 5|0, shutdown -h now, poweroff, halt -> the VM starts shutting down
Anything else: `sh: 1: <cmd>: not found`, rc 127.

A guest defined with `--set userland=<folder>` has a userland of its own: every command line runs for
real, through `/bin/sh -c` as sshd runs it, in that folder (an engine installed in the guest is a
program there; it finds its own root by its own configuration), stdin and exit code passed through.
"""

import os
import sys

from simulators import core

# ssh options that take a value (OpenSSH 9)
SSH_VALUE_OPTS = set("BbcDEeFIiJLlmOoPpQRSWw")
REAL_SSH = "/usr/bin/ssh"


def split_ssh(argv):
    """(destination, command words) of an ssh command line."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            i += 1
            break
        if word.startswith("-") and len(word) > 1:
            letter = word[-1]
            if letter in SSH_VALUE_OPTS and len(word) == 2:
                i += 2
            else:
                i += 1
            continue
        break
    if i >= len(argv):
        return None, []
    return argv[i].rpartition("@")[2], argv[i + 1:]


def find_guest(host):
    root = core.state_dir()
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for vm in core.all_vms(folder.name):
            if host in (vm["name"], vm["extra"].get("hostname"), core.vm_address(vm)):
                return vm
    return None


def guest_command(vm, words):
    userland = vm["extra"].get("userland")
    if userland:
        import subprocess

        return subprocess.call(["/bin/sh", "-c", " ".join(words)], cwd=userland)
    cmd = " ".join(words).split()
    if not cmd or cmd == ["pwd"]:
        print("/root")
        return 0
    if cmd == ["true"]:
        return 0
    if cmd == ["hostname"]:
        print(vm["name"])
        return 0
    if cmd[:2] == ["ip", "-o"] and "addr" in cmd:
        dev = cmd[cmd.index("dev") + 1] if "dev" in cmd else "eth0"
        addr = core.vm_address(vm)
        if addr:
            print(f"2: {dev}    inet {addr}/24 brd + scope global {dev}\\       valid_lft forever "
                  f"preferred_lft forever")
        return 0
    if cmd in (["/usr/sbin/init", "5"], ["/usr/sbin/init", "0"], ["shutdown", "-h", "now"], ["poweroff"],
               ["halt"], ["/sbin/init", "0"]):
        core.set_state(vm, "stopping")
        return 0
    print(f"sh: 1: {cmd[0]}: not found", file=sys.stderr)
    return 127


def ssh_main(argv):
    host, words = split_ssh(argv)
    vm = find_guest(host) if host else None
    if vm is None:
        os.execv(REAL_SSH, [REAL_SSH, *argv])
    if vm["state"] != "running" or vm["fail"].get("ssh") == "refuse":
        print(f"ssh: connect to host {host} port 22: Connection refused", file=sys.stderr)
        return 255
    return guest_command(vm, words)
