"""Cluster nodes for real: each node a network + mount + UTS namespace with its own root and a real sshd,
every node trusting one client key (docs/encapsulation-and-cluster.md §3.3-§3.4). The engine's unchanged
ssh transport (`ssh -q -o ... hv2 'osvc-engine ...'`) then reaches the peers by name.

    with make_nodes(["hv1", "hv2"], skew={"hv2": -600}) as nodes:
        hv1 = nodes["hv1"]
        hv1.osvc("-s", "web", "switch", "--to", "hv2")      # CompletedProcess, run inside hv1
        hv1.folder / "var" / "journal.db"                   # the node's files, seen from the host

How:
- one bridge namespace (br0) and one namespace per node, a veth pair each (10.251.7.<i>/24);
- each node's sshd runs `ip netns exec <ns> unshare --mount --uts --propagation private`: hostname set
  to the node's name (the engine's node name), the node's folder bound onto ROOT (one fixed path the
  fixture creates under /tmp, the same on every node, so `rsync -R` to the same path works), /etc/hosts
  and /etc/ssh/ssh_config bound to the fixture's (peer names, the client key, the known hosts). Nothing
  is written under /var/lib or /etc/netns;
- OSVC_ROOT reaches ssh sessions through authorized_keys `environment=` (sshd: PermitUserEnvironment),
  with PATH (the venv first: root's shell rc may prepend other folders) and, for a node given a skew,
  the test-only OSVC_TEST_CLOCK_SKEW (its journal clock that many seconds off);
- a command "on a node" enters the sshd's namespaces (`nsenter -t <sshd pid> -m -u -n`) with a clean
  environment (`env -i`);
- /run/sshd (sshd's privilege separation folder) is created only when missing, and left: another
  fixture's sshd may be using it, and it is the empty folder the openssh-server package makes;
- cleanup, whatever failed: each sshd killed by its pid, the namespaces deleted (the mount namespaces
  go with their last process), the folders removed.
"""

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
ENGINE = str(VENV_BIN / "osvc-engine")
PATH = f"{VENV_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SUBNET = "10.251.7"


def _sh(*argv, check=True, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=check, **kw)


class ClusterNode:
    def __init__(self, name, index, base, root, skew=0):
        self.name, self.index, self.base, self.root, self.skew = name, index, base, root, skew
        self.addr = f"{SUBNET}.{index + 1}"
        self.folder = base / name                  # the node's OSVC_ROOT, seen from the host
        self.ns = f"{base.name[-12:]}-{name}"[-15:]
        self.pid = None
        self.proc = None

    # -- running things on the node --------------------------------------------------------------------
    def env(self, extra=None):
        env = {"PATH": PATH, "HOME": "/root", "OSVC_ROOT": str(self.root), "LANG": "C.UTF-8"}
        if self.skew:
            env["OSVC_TEST_CLOCK_SKEW"] = str(self.skew)
        return {**env, **(extra or {})}

    def argv(self, argv, env=None):
        return ["nsenter", "-t", str(self.pid), "-m", "-u", "-n", "--", "env", "-i",
                *(f"{k}={v}" for k, v in self.env(env).items()), *map(str, argv)]

    def run(self, argv, env=None, timeout=180, input=None):
        """CompletedProcess (text) of argv run on this node."""
        return subprocess.run(self.argv(argv, env), capture_output=True, text=True, timeout=timeout, input=input,
                              check=False)

    def osvc(self, *args, env=None, timeout=180):
        return self.run([ENGINE, *args], env=env, timeout=timeout)

    def popen(self, argv, env=None, **kw):
        """A process started on this node (the caller ends it: kill it by its pid, then wait)."""
        return subprocess.Popen(self.argv(argv, env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)

    # -- the network ---------------------------------------------------------------------------------
    def link(self, up):
        """Cut (False) or restore (True) the node's network: its peers cannot reach it meanwhile."""
        _sh("ip", "-n", self.ns, "link", "set", "v0", "up" if up else "down")

    @property
    def journal(self):
        return self.folder / "var" / "journal.db"

    @property
    def mirrors(self):
        return self.folder / "var" / "mirrors"


class Nodes(dict):
    def __init__(self, base, root):
        super().__init__()
        self.base, self.root = base, root


def _keys(base, nodes):
    ssh = base / "ssh"
    ssh.mkdir(mode=0o700)
    _sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "osvc-test", "-f", ssh / "id_ed25519")
    known = []
    for n in nodes:
        _sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", n.name, "-f", ssh / f"{n.name}_host")
        key = " ".join((ssh / f"{n.name}_host.pub").read_text().split()[:2])
        known.append(f"{n.name},{n.addr} {key}")
    (ssh / "known_hosts").write_text("\n".join(known) + "\n")
    (base / "ssh_config").write_text(f"Host *\n    IdentityFile {ssh}/id_ed25519\n"
                                     f"    UserKnownHostsFile {ssh}/known_hosts\n    User root\n"
                                     f"    LogLevel ERROR\n")
    hosts = ["127.0.0.1 localhost"] + [f"{n.addr} {n.name}" for n in nodes]
    (base / "hosts").write_text("\n".join(hosts) + "\n")
    client = (ssh / "id_ed25519.pub").read_text().strip()
    for n in nodes:
        env = [f'environment="PATH={PATH}"', f'environment="OSVC_ROOT={n.root}"']
        if n.skew:
            env.append(f'environment="OSVC_TEST_CLOCK_SKEW={n.skew}"')
        (ssh / f"{n.name}_authorized_keys").write_text(f"{','.join(env)} {client}\n")
        (ssh / f"{n.name}_sshd").write_text(f"""\
ListenAddress {n.addr}
HostKey {ssh}/{n.name}_host
AuthorizedKeysFile {ssh}/{n.name}_authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitUserEnvironment PATH,OSVC_ROOT,OSVC_TEST_CLOCK_SKEW
UsePAM no
StrictModes no
PidFile {ssh}/{n.name}.pid
LogLevel ERROR
""")


def _network(base, nodes):
    bridge = f"{base.name[-12:]}-br"[-15:]
    _sh("ip", "netns", "add", bridge)
    _sh("ip", "-n", bridge, "link", "add", "br0", "type", "bridge")
    _sh("ip", "-n", bridge, "link", "set", "br0", "up")
    for n in nodes:
        _sh("ip", "netns", "add", n.ns)
        _sh("ip", "link", "add", "v0", "netns", n.ns, "type", "veth", "peer", "name", f"b{n.index}", "netns", bridge)
        _sh("ip", "-n", bridge, "link", "set", f"b{n.index}", "master", "br0", "up")
        _sh("ip", "-n", n.ns, "addr", "add", f"{n.addr}/24", "dev", "v0")
        for dev in ("lo", "v0"):
            _sh("ip", "-n", n.ns, "link", "set", dev, "up")
    return bridge


def _start_sshd(base, n):
    ssh = base / "ssh"
    script = (f"hostname {n.name} && mount --bind {n.folder} {n.root} && mount --bind {base}/hosts /etc/hosts && "
              f"mount --bind {base}/ssh_config /etc/ssh/ssh_config && exec /usr/sbin/sshd -D -e -f {ssh}/{n.name}_sshd")
    with open(base / f"{n.name}-sshd.log", "wb") as log:
        n.proc = subprocess.Popen(["ip", "netns", "exec", n.ns, "unshare", "--mount", "--uts", "--propagation",
                                   "private", "sh", "-c", script], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                  start_new_session=True)
    n.pid = n.proc.pid          # ip, unshare and sh exec each other: this pid is sshd's


def _wait_ready(base, nodes, timeout=20):
    deadline = time.monotonic() + timeout
    for n in nodes:
        while not (base / "ssh" / f"{n.name}.pid").exists():
            if n.proc.poll() is not None or time.monotonic() > deadline:
                log = (base / f"{n.name}-sshd.log").read_text(errors="replace")
                raise RuntimeError(f"sshd of {n.name} did not start: {log}")
            time.sleep(0.05)


@contextlib.contextmanager
def make_nodes(names, skew=None):
    """Nodes named `names`, each with sshd listening; see the module docstring."""
    if not os.path.exists("/usr/sbin/sshd"):
        import pytest

        pytest.skip("openssh-server (sshd) is not installed")
    base = Path(tempfile.mkdtemp(prefix=f"osvc-nodes-{secrets.token_hex(3)}-", dir="/tmp"))
    root = base / "root"
    root.mkdir()
    nodes = Nodes(base, root)
    for i, name in enumerate(names):
        node = nodes[name] = ClusterNode(name, i, base, root, (skew or {}).get(name, 0))
        for sub in ("etc", "var", "log"):
            (node.folder / sub).mkdir(parents=True, mode=0o755)
        (node.folder / "etc" / "node.conf").write_text("[transport]\nkind = ssh\n")
    bridge = None
    try:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        _keys(base, nodes.values())
        bridge = _network(base, nodes.values())
        for n in nodes.values():
            _start_sshd(base, n)
        _wait_ready(base, nodes.values())
        yield nodes
    finally:
        for n in nodes.values():
            if n.proc is not None and n.proc.poll() is None:
                os.kill(n.pid, signal.SIGTERM)
                try:
                    n.proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.kill(n.pid, signal.SIGKILL)
                    n.proc.wait()
        for n in nodes.values():
            _sh("ip", "netns", "del", n.ns, check=False)
        if bridge:
            _sh("ip", "netns", "del", bridge, check=False)
        shutil.rmtree(base, ignore_errors=True)


def cluster_service(nodes, svc="web", names="ab"):
    """The launcher service of tests/helpers/launchers.py on every node (`nodes = <every node>`), its
    state files under the node's own root (ROOT/state, the same path on each node, a folder of its own)."""
    from tests.helpers.cli import write_launcher
    from tests.helpers.launchers import SCRIPT

    env = ["[DEFAULT]", f"nodes = {' '.join(nodes)}", ""]
    for i, name in enumerate(names, 1):
        env += [f"[app#{i}]", f"script = {name}", f"start = {i}0", f"stop = {i}0", f"check = {i}0", ""]
    for node in nodes.values():
        (node.folder / "state").mkdir(mode=0o755, exist_ok=True)
        (node.folder / "etc" / f"{svc}.env").write_text("\n".join(env))
        for name in names:
            write_launcher(node.folder / "etc" / f"{svc}.d" / name, SCRIPT.format(state=nodes.root / "state", name=name))


def running(node):
    state = node.folder / "state"
    return sorted(p.name for p in state.iterdir() if "." not in p.name) if state.exists() else []
