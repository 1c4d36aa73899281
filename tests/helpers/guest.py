"""A real LXC guest that runs this same osvc-engine: the busybox container of the encapsulation
reference (docs/encapsulation-and-cluster.md §3.1, §3.4), for the tests of a host
service driving a guest.

    def test_x(lxc_guest, tmp_path):                  # root (conftest marks tests using the fixture)
        hv1 = lxc_guest.host_root(tmp_path / "hv1")   # a host node root whose node.conf finds the guest
        env = "[DEFAULT]\\nnodes = hv1\\n\\n" + lxc_guest.container_section()
        (hv1 / "etc" / "vmsvc.env").write_text(env)
        lxc_guest.host_osvc(hv1, "-s", "vmsvc", "start")            # the host engine starts the container
        lxc_guest.attach(["pwd"])                                   # a command in the guest
        lxc_guest.engine("-s", "gsvc", "print", "status")           # the guest's own engine
        lxc_guest.journal_rows(svc="gsvc")                          # its journal, read from the host

What the fixture builds (nothing is started: the host engine's lxc driver starts the container, or a
test calls `start()`):
- a network namespace of its own, lo up (or `ns`: a hypervisor "node"'s, shared by its guests): LXC's
  command socket is an abstract unix socket scoped to the network namespace lxc-start ran in, so every
  lxc-* command of this container (the fixture's, and the host engine's through `host_osvc`) runs in
  it, and parallel tests never see each other's containers;
- `lxc-create -t busybox` under `<tmp>/lxc` (the lxcpath; the host's node.conf `[paths] lxc` points
  there), no network (`lxc.net.0.type = empty`: lxc-attach needs none), or with `addr` a veth to a
  bridge in the namespace and that static address;
- read-only binds at the same absolute paths inside: /usr/bin (the template binds /lib and /usr/lib
  already), the checkout, the venv when it is not in the checkout, and the interpreter's prefix (a
  pyenv interpreter lives under root's home, which the guest lacks). So the venv's `osvc-engine` is a
  valid path inside the guest: `engine_path`;
- the guest engine's root is its default, /var/lib/osvc-engine in the guest (no OSVC_ROOT), made with
  etc/ var/ log/; from the host it is `root_on_host` (<rootfs>/var/lib/osvc-engine). Its node name is
  its hostname, the container's name (lxc.uts.name), so `encapnodes = <guest.name>` needs no setting.

`attach` runs through `lxc-attach ... -- env -i PATH=...`: lxc-attach keeps the caller's environment by
default, and the host's OSVC_ROOT/OSVC_NODENAME would point the guest engine at the host's root.

Cleanup (`destroy`): lxc-stop -k in the namespace, then a SIGKILL of the container's init by the pid
lxc-info gives if it still runs, lxc-destroy, its own namespace, and the driver's /var/tmp logs named after
the container. The binds exist only in the container's mount namespace: gone with its init. The rootfs
is removed by hand only when no host mount lies under it.
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = "/usr/share/lxc/templates/lxc-busybox"
TOOLS = ("lxc-create", "lxc-start", "lxc-stop", "lxc-info", "lxc-attach", "lxc-wait", "lxc-destroy", "busybox", "ip")
GUEST_ROOT = "/var/lib/osvc-engine"       # the engine's default root, inside the guest
BRIDGE = "osvcbr0"                        # the guests' bridge in their namespace (with `addr`)
TIMEOUT = 120


def lxc_missing() -> str | None:
    """Why an LXC busybox guest cannot be made here (a tool or the template missing), else None."""
    for tool in TOOLS:
        if not shutil.which(tool):
            return f"{tool} is not installed (apt-get install lxc busybox-static iproute2)"
    if not os.path.exists(TEMPLATE):
        return f"the LXC busybox template {TEMPLATE} is not installed (apt-get install lxc)"
    return None


def _run(argv, ns=None, check=True, input=None, timeout=TIMEOUT, cwd=None):
    wrap = ["ip", "netns", "exec", ns] if ns else []
    res = subprocess.run([*wrap, *map(str, argv)], check=False, capture_output=True, text=True, input=input,
                         cwd=cwd, timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))}: rc {res.returncode}\n{res.stdout}{res.stderr}")
    return res


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def binds() -> list[Path]:
    """Host folders the guest needs at the same path, read-only: /usr/bin, the checkout, the venv (when
    outside the checkout) and the interpreter's prefix (when outside /usr, which the template binds)."""
    venv = Path(sys.prefix).resolve()
    base = Path(sys.base_prefix).resolve()
    out = [Path("/usr/bin"), REPO]
    if not _under(venv, REPO):
        out.append(venv)
    if not _under(base, Path("/usr")) and not any(_under(base, b) for b in out):
        out.append(base)
    return out


class LxcGuest:
    """One busybox container, its lxcpath and network namespace (see the module docstring)."""

    def __init__(self, base: Path, name: str | None = None, ns: str | None = None, addr: str | None = None):
        """`ns`: an existing network namespace to run in (a hypervisor "node" hosting several guests;
        kept at destroy), else one of its own. `addr`: the guest's IPv4 address (/24) on a veth to a
        bridge `osvcbr0` in that namespace, whose .1 address the bridge gets; else no network."""
        token = secrets.token_hex(3)
        self.name = name or f"encvm{token}"          # the guest's hostname, so its engine's node name
        self.own_ns = ns is None
        self.ns = ns or f"osvcg{token}"
        self.addr = addr
        self.veth = f"vg{token}"                     # the host end of its veth (<= 15 characters)
        self.lxcpath = Path(base) / "lxc"
        self.rootfs = self.lxcpath / self.name / "rootfs"
        self.root_on_host = self.rootfs / GUEST_ROOT.lstrip("/")
        self.venv_bin = Path(sys.prefix) / "bin"
        self.engine_path = str(self.venv_bin / "osvc-engine")   # the same path inside the guest
        self.path = f"{self.venv_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        self.setup_seconds = None                    # create()'s wall time (reported by the smoke test)

    # --- set up / tear down ---------------------------------------------------------------------
    def create(self):
        t0 = time.monotonic()
        if self.own_ns:
            _run(["ip", "netns", "add", self.ns])
            _run(["ip", "-n", self.ns, "link", "set", "lo", "up"])
        self.lxcpath.mkdir(parents=True, exist_ok=True)
        _run(["lxc-create", "-P", self.lxcpath, "-t", "busybox", "-n", self.name])
        cfg = self.lxcpath / self.name / "config"
        lines = [line for line in cfg.read_text().splitlines() if not line.startswith("lxc.net.")]
        lines += self._network()
        # create=dir: the mount points are made in the rootfs at start (the host keeps empty folders)
        lines += [f"lxc.mount.entry = {p} {str(p).lstrip('/')} none ro,bind,create=dir 0 0" for p in binds()]
        cfg.write_text("\n".join(lines) + "\n")
        for sub in ("etc", "var", "log"):
            (self.root_on_host / sub).mkdir(parents=True, exist_ok=True)
        self.setup_seconds = time.monotonic() - t0

    def _network(self) -> list[str]:
        if not self.addr:
            return ["lxc.net.0.type = empty"]
        bridge = _run(["ip", "-n", self.ns, "link", "show", "dev", BRIDGE], check=False)
        if bridge.returncode != 0:        # the namespace's first guest with an address makes the bridge
            gateway = self.addr.rsplit(".", 1)[0] + ".1"
            _run(["ip", "-n", self.ns, "link", "add", BRIDGE, "type", "bridge"])
            _run(["ip", "-n", self.ns, "addr", "add", f"{gateway}/24", "dev", BRIDGE])
            _run(["ip", "-n", self.ns, "link", "set", BRIDGE, "up"])
        # a static address: the template's rcS runs udhcpc, which would flush it
        rcs = self.rootfs / "etc" / "init.d" / "rcS"
        rcs.write_text("".join(line for line in rcs.read_text().splitlines(True) if "udhcpc" not in line))
        return ["lxc.net.0.type = veth", f"lxc.net.0.link = {BRIDGE}", "lxc.net.0.flags = up",
                "lxc.net.0.name = eth0", f"lxc.net.0.veth.pair = {self.veth}",
                f"lxc.net.0.ipv4.address = {self.addr}/24"]

    def destroy(self):
        try:
            _run(["lxc-stop", "-k", "-P", self.lxcpath, "-n", self.name], ns=self.ns, check=False, timeout=60)
            pid = self.init_pid()
            if pid:          # lxc-stop failed: kill the container's init, its namespaces go with it
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            _run(["lxc-destroy", "-P", self.lxcpath, "-n", self.name], ns=self.ns, check=False, timeout=60)
            if self.rootfs.exists() and not self._host_mounts_under(self.rootfs):
                shutil.rmtree(self.rootfs.parent, ignore_errors=True)
        finally:
            if self.own_ns:
                _run(["ip", "netns", "del", self.ns], check=False)
            for action in ("start", "stop"):              # drivers/container_lxc.py's logs
                Path(f"/var/tmp/svc_{self.name}_lxc_{action}.log").unlink(missing_ok=True)

    @staticmethod
    def _host_mounts_under(folder: Path) -> bool:
        with open("/proc/self/mounts") as fh:
            return any(_under(Path(line.split()[1]), folder) for line in fh if len(line.split()) > 1)

    # --- the container, by hand (tests of the host engine let its lxc driver do this) ---------------
    def start(self):
        _run(["lxc-start", "-d", "-P", self.lxcpath, "-n", self.name, "-o", self.lxcpath / "start.log"],
             ns=self.ns)
        _run(["lxc-wait", "-P", self.lxcpath, "-n", self.name, "-s", "RUNNING", "-t", "30"], ns=self.ns)

    def stop(self):
        _run(["lxc-stop", "-k", "-P", self.lxcpath, "-n", self.name], ns=self.ns, check=False)

    def state(self) -> str:
        """RUNNING, STOPPED... as lxc-info sees it from the guest's namespace."""
        out = _run(["lxc-info", "-P", self.lxcpath, "-n", self.name, "-s"], ns=self.ns, check=False).stdout
        return out.split()[-1] if out.split() else ""

    def init_pid(self) -> int | None:
        out = _run(["lxc-info", "-P", self.lxcpath, "-n", self.name, "-p", "-H"], ns=self.ns,
                   check=False).stdout.strip()
        return int(out) if out.isdigit() else None

    # --- in the guest -----------------------------------------------------------------------------
    def attach(self, argv, env=None, input=None, timeout=TIMEOUT) -> subprocess.CompletedProcess:
        """Run argv in the guest with only PATH (and `env`) set, in its / (lxc-attach keeps the caller's
        working directory when the guest has it, as it has the checkout): CompletedProcess, text, never
        raises on rc (the caller asserts)."""
        extra = [f"{k}={v}" for k, v in (env or {}).items()]
        return _run(["lxc-attach", "-P", self.lxcpath, "-n", self.name, "--", "env", "-i", f"PATH={self.path}",
                     *extra, *argv], ns=self.ns, check=False, input=input, timeout=timeout, cwd="/")

    def engine(self, *args, env=None, input=None, timeout=TIMEOUT) -> subprocess.CompletedProcess:
        """`osvc-engine args...` run by the guest, under its default root."""
        return self.attach([self.engine_path, *args], env=env, input=input, timeout=timeout)

    def journal_rows(self, **filters) -> list:
        """The guest journal's rows (tests.helpers.cli.journal_rows filters), read from the host."""
        from tests.helpers.cli import journal_rows

        return journal_rows(self.root_on_host, **filters)

    def write(self, path: str, text: str, mode=0o644) -> Path:
        """Write a file at `path` of the guest's file hierarchy (through its rootfs)."""
        target = self.rootfs / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(mode)
        return target

    # --- the host side ------------------------------------------------------------------------------
    def host_root(self, path: Path) -> Path:
        """A host node root (etc/ var/ log/) whose node.conf has the guest's lxcpath and fast polls."""
        for sub in ("etc", "var", "log"):
            (Path(path) / sub).mkdir(parents=True, exist_ok=True)
        (Path(path) / "etc" / "node.conf").write_text(
            f"[container]\npoll_interval = 0.2\n\n[paths]\nlxc = {self.lxcpath}\n")
        return Path(path)

    def container_section(self, rid="container#1", extra="") -> str:
        return f"[{rid}]\ntype = lxc\nname = {self.name}\nstart_timeout = 30\nstop_timeout = 30\n{extra}\n"

    def host_osvc(self, root, *args, node="hv1", env=None, timeout=TIMEOUT) -> subprocess.CompletedProcess:
        """The host engine (`osvc-engine args...`, OSVC_ROOT=root) run in the guest's network namespace,
        where its lxc-* commands reach the container."""
        from tests.helpers.cli import osvc

        return osvc(root, *args, node=node, wrap=("ip", "netns", "exec", self.ns), env=env, timeout=timeout)


@pytest.fixture
def lxc_guest(tmp_path):
    """An LXC busybox guest, created, not started (root: conftest marks the tests using it)."""
    missing = lxc_missing()
    if missing:
        pytest.skip(missing)
    guest = LxcGuest(tmp_path)
    try:
        guest.create()
        yield guest
    finally:
        guest.destroy()
