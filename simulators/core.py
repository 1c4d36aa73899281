"""The simulated hypervisors' shared state: one JSON file per VM in a folder all simulated nodes share.

    OSVC_SIM_STATE   the folder (required): <state>/<tech>/<id>.json per VM, <state>/.lock
    OSVC_SIM_NODE    the node this CLI runs on (else OSVC_NODENAME, else the hostname): the engine's
                     LocalTransport sets OSVC_NODENAME, so `xm list` run "on ovmnode2" sees ovmnode2
    OSVC_SIM_BOOT    default seconds a VM takes to boot (3), OSVC_SIM_SHUTDOWN to shut down (2)

A VM is `off`, `booting`, `running` or `stopping`. Time moves lazily: every CLI call settles each VM
it loads (booting for `boot` seconds -> running; stopping for `shutdown` seconds -> off). A running
VM's address (its name resolved the way the engine resolves it) is plumbed on `lo` of the network
namespace the CLI runs in, so the engine's real `ping` answers exactly while the VM runs. Plumbing
is skipped in the host's own namespace: a simulator never changes the host's network.

Failure knobs (`vmsim fail <tech> <name> start=hang stop=fail ...`), per VM:
    start=fail   the start command fails (rc 1, the CLI's own error text), nothing changes
    start=hang   the VM never finishes booting (the engine's wait-up times out)
    start=crash  the VM boots, then dies at once (up test false again)
    start=stuck  the start command itself never returns (the runner's timeout kills it)
    stop=fail    the stop command fails;  stop=hang: the VM never finishes shutting down (force
                 stop still works);  stop=stuck: the stop command never returns
    ssh=refuse   the guest's sshd refuses connections (operational check fails)
"""

import contextlib
import fcntl
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

STATES = ("off", "booting", "running", "stopping")


class SimError(Exception):
    """A simulated CLI error: printed on stderr, exit code `rc`."""

    def __init__(self, message, rc=1):
        super().__init__(message)
        self.rc = rc


def state_dir() -> Path:
    root = os.environ.get("OSVC_SIM_STATE")
    if not root:
        raise SimError("simulator: OSVC_SIM_STATE is not set (the folder the simulated nodes share)", 2)
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def node_name() -> str:
    return os.environ.get("OSVC_SIM_NODE") or os.environ.get("OSVC_NODENAME") or socket.gethostname()


def default_seconds(name, fallback) -> float:
    return float(os.environ.get(name) or fallback)


@contextlib.contextmanager
def locked():
    """Serialise simulator calls: several simulated nodes may act at once."""
    with open(state_dir() / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def vm_path(tech, vm_id) -> Path:
    return state_dir() / tech / f"{vm_id}.json"


def new_vm(tech, vm_id, name, **fields) -> dict:
    vm = {"tech": tech, "id": vm_id, "name": name, "node": fields.pop("node", None) or node_name(),
          "state": "off", "since": time.time(),
          "boot": default_seconds("OSVC_SIM_BOOT", 3), "shutdown": default_seconds("OSVC_SIM_SHUTDOWN", 2),
          "fail": {}, "autoboot": False, "disks": [], "extra": {}}
    vm.update(fields)
    return vm


def save(vm) -> None:
    path = vm_path(vm["tech"], vm["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(vm, indent=1, sort_keys=True))
    os.replace(tmp, path)


def settle(vm, now=None) -> dict:
    """Advance a VM's state to `now` (booting -> running, stopping -> off), plumbing its address."""
    now = time.time() if now is None else now
    fail = vm.get("fail", {})
    changed = False
    if vm["state"] == "booting" and fail.get("start") != "hang" and now - vm["since"] >= vm["boot"]:
        vm["state"], vm["since"], changed = "running", vm["since"] + vm["boot"], True
        if fail.get("start") == "crash":
            vm["state"], changed = "off", True
    if vm["state"] == "stopping" and fail.get("stop") != "hang" and now - vm["since"] >= vm["shutdown"]:
        vm["state"], vm["since"], changed = "off", vm["since"] + vm["shutdown"], True
    if changed:
        save(vm)
    plumb(vm, vm["state"] in ("running", "stopping"))
    return vm


def load(tech, vm_id) -> dict | None:
    path = vm_path(tech, vm_id)
    if not path.exists():
        return None
    return settle(json.loads(path.read_text()))


def all_vms(tech) -> list:
    folder = state_dir() / tech
    if not folder.is_dir():
        return []
    return [settle(json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def find(tech, key) -> dict | None:
    """A VM of `tech` by id or name."""
    vm = load(tech, key)
    if vm is not None:
        return vm
    for vm in all_vms(tech):
        if vm["name"] == key:
            return vm
    return None


def set_state(vm, state) -> dict:
    vm["state"], vm["since"] = state, time.time()
    if state in ("booting", "running"):
        vm["node"] = node_name()
    save(vm)
    return settle(vm)


def here(vm) -> bool:
    """Is this VM on the node the CLI runs on (running, booting or stopping here)?"""
    return vm["node"] == node_name() and vm["state"] != "off"


class Stuck(Exception):
    """The command never returns (raised under the lock, slept out of it)."""


class After(Exception):
    """The command returns later: sleep `seconds` out of the lock, then `then()` (under the lock) ends it.

    For CLIs whose command waits for the VM (`docker stop` blocks until the container is down):
    other simulated nodes keep answering while it waits. `then` returns the rc, or raises After again."""

    def __init__(self, seconds, then):
        super().__init__(seconds)
        self.seconds, self.then = seconds, then


def stuck_if(vm, action) -> None:
    """The `<action>=stuck` knob: the CLI command never returns."""
    if vm.get("fail", {}).get(action) == "stuck":
        raise Stuck()


def failing(vm, action) -> bool:
    return vm.get("fail", {}).get(action) == "fail"


# --- the VM's address ---------------------------------------------------------------------------
def _in_own_netns() -> bool:
    """Not the host's network namespace: another one than pid 1's, or (when /proc/1 is not readable,
    as in a sandbox) one of the namespaces `ip netns` named under /run/netns."""
    try:
        mine = os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return False
    try:
        return mine != os.stat("/proc/1/ns/net").st_ino
    except OSError:
        pass
    try:
        return any(os.stat(p).st_ino == mine for p in Path("/run/netns").iterdir())
    except OSError:
        return False


def vm_address(vm) -> str | None:
    name = vm["extra"].get("hostname") or vm["name"]
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:
        return socket.getaddrinfo(name, None, socket.AF_INET)[0][4][0]
    except (socket.gaierror, IndexError, UnicodeError):
        return None


def plumb(vm, present: bool) -> None:
    if not _in_own_netns():
        return
    addr = vm_address(vm)
    if addr is None:
        return
    shown = subprocess.run(["ip", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True).stdout
    there = f" {addr}/32 " in shown
    if present and not there:
        subprocess.run(["ip", "addr", "add", f"{addr}/32", "dev", "lo"], capture_output=True)
    elif not present and there:
        subprocess.run(["ip", "addr", "del", f"{addr}/32", "dev", "lo"], capture_output=True)


# --- entry point ---------------------------------------------------------------------------------
def run(main, argv=None) -> int:
    """Run a simulated CLI's main(argv) under the state lock, turning SimError into stderr + rc."""
    argv = sys.argv[1:] if argv is None else argv
    step = lambda: main(argv)    # noqa: E731
    try:
        while True:
            try:
                with locked():
                    rc = step()
                return rc or 0
            except After as later:
                time.sleep(later.seconds)
                step = later.then
    except SimError as exc:
        print(str(exc), file=sys.stderr)
        return exc.rc
    except Stuck:
        while True:
            time.sleep(3600)
