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

A guest defined with `--set guestfs=<folder>` has a file hierarchy: that folder stands for the guest's
`/` (the VM cookbook's launchers in /svc/etc/init.d, run by the host without an engine in the guest):

    test -d|-f|-e P          -> whether P exists in it (rc 0 or 1)
    mkdir -p P               -> makes P in it
    find P                   -> P and everything under it, one guest path a line
    P ARGS... (P absolute)   -> an executable file P of the guest runs, cwd the guest's `/`, with
                                GUEST_ROOT=<folder> and HOSTNAME=<vm name> in its environment (a
                                launcher writes its state under "$GUEST_ROOT"), its output and rc
                                passed through; not executable: rc 126
Other commands get the minimal answers above.
"""

import os
import subprocess
import sys
from pathlib import Path

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


def in_guestfs(root: Path, path: str) -> Path | None:
    """The host path of the guest's absolute `path` under its guestfs `root`; None for a relative path
    or one that climbs out (`..`)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not path.startswith("/") or ".." in parts:
        return None
    return root.joinpath(*parts)


def guestfs_command(vm, root: Path, cmd) -> int | None:
    """A command of a guest with a file hierarchy (see the module docstring); None: not one of these."""
    if len(cmd) == 3 and cmd[0] == "test" and cmd[1] in ("-d", "-f", "-e"):
        path = in_guestfs(root, cmd[2])
        check = {"-d": os.path.isdir, "-f": os.path.isfile, "-e": os.path.exists}[cmd[1]]
        return 0 if path is not None and check(path) else 1
    if len(cmd) == 3 and cmd[:2] == ["mkdir", "-p"] and (path := in_guestfs(root, cmd[2])) is not None:
        path.mkdir(parents=True, exist_ok=True)
        return 0
    if len(cmd) == 2 and cmd[0] == "find" and (path := in_guestfs(root, cmd[1])) is not None:
        if not path.exists():
            print(f"find: '{cmd[1]}': No such file or directory", file=sys.stderr)
            return 1
        print(cmd[1])
        for folder, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(dirs + files):
                print("/" + str((Path(folder) / name).relative_to(root)))
        return 0
    path = in_guestfs(root, cmd[0])
    if path is not None and path.is_file():
        if not os.access(path, os.X_OK):
            print(f"sh: 1: {cmd[0]}: Permission denied", file=sys.stderr)
            return 126
        env = {**os.environ, "GUEST_ROOT": str(root), "HOSTNAME": vm["name"]}
        return subprocess.call([str(path), *cmd[1:]], cwd=root, env=env, stdin=subprocess.DEVNULL)
    return None


def guest_command(vm, words):
    userland = vm["extra"].get("userland")
    if userland:
        return subprocess.call(["/bin/sh", "-c", " ".join(words)], cwd=userland)
    cmd = " ".join(words).split()
    guestfs = vm["extra"].get("guestfs")
    if guestfs and cmd:
        rc = guestfs_command(vm, Path(guestfs), cmd)
        if rc is not None:
            return rc
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
