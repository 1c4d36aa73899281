"""container.lxc: a Linux container driven with the LXC 1.x..5 tools (docs/agent-reference.md §6.1).

    start      lxc-start -d -n <name> -o /var/tmp/svc_<name>_lxc_start.log [-f <cf>]
               then `start done in <d> - ret <rc> - logs in <log>`
    stop       lxc-stop -n <name> -o /var/tmp/svc_<name>_lxc_stop.log;  force stop: none (an error)
    up test    `lxc-info --name <name>` says `State: RUNNING` (lxc-ps is gone since LXC 2)
    runmethod  the `rcmd` keyword, else `lxc-attach -n <name> --` when lxc-attach exists and the kernel
               has pid namespaces (/proc/1/ns/pid), else the node's rsh + <name>
    ping       only without lxc-attach (with it, the name is neither resolved nor pinged)
    operational  `<runmethod> pwd`, then, when the guest has /bin/systemctl,
               `<runmethod> systemctl is-active default.target` must say `active`
    after stop `ip link del dev <veth>` for each veth LXC left behind (the `Link:` lines of lxc-info)

The containers live in the `lxc` path of etc/node.conf [paths] (default /var/lib/lxc, LXC's own
default for root). Any other folder is passed as `-P <lxcpath>` to every lxc-* command, so tests keep
their containers in a temporary folder.

LXC's command socket is an abstract unix socket, scoped to the network namespace lxc-start ran in:
every lxc-* command of a container must run in that same namespace (tests run the engine in theirs).
"""

import os
import shutil
import time
from datetime import timedelta

from drivers.base import DriverError
from drivers.container import PATHS, Container
from drivers.runner import CommandError

LOG_DIR = "/var/tmp"
START_TIMEOUT = 120           # lxc-start -d returns once the container's init runs
STOP_MARGIN = 30              # lxc-stop waits for the guest's halt (its own -t, 60 s), then kills


def parse_info(text: str) -> dict:
    """`lxc-info` lines `Key:   value` -> {key: [values...]} (`Link:` repeats, one per veth)."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            info.setdefault(key.strip(), []).append(value.strip())
    return info


def cf_value(path, key):
    """The last `key = value` of an LXC config file (later lines win, as in LXC), or None."""
    value = None
    try:
        with open(path) as fh:
            for line in fh:
                name, sep, val = line.partition("=")
                if sep and not line.lstrip().startswith("#") and name.strip() == key:
                    value = val.strip()
    except OSError:
        return None
    return value


class Lxc(Container):
    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.lxcpath = self.path("lxc")
        self.cf = str(self.conf.get("cf") or "")
        self._links = []           # the veths of the running container, noted before lxc-stop
        # with lxc-attach the agent neither resolves nor pings the container (docs/agent-reference.md §5.5).
        # lexists: the entry says the kernel has pid namespaces; following the link needs ptrace
        # rights on pid 1, which a confined root (a CI sandbox) may lack though lxc-attach works.
        self.attach = not self.conf.get("rcmd") and bool(shutil.which("lxc-attach")) \
            and os.path.lexists("/proc/1/ns/pid")
        self.pings = not self.attach

    # --- command lines ----------------------------------------------------------------------------
    @property
    def lxcpath_args(self) -> list:
        return [] if os.path.normpath(self.lxcpath) == PATHS["lxc"] else ["-P", self.lxcpath]

    @property
    def config_path(self) -> str:
        """The container's config: the `cf` keyword, else <lxcpath>/<name>/config."""
        return self.cf or os.path.join(self.lxcpath, self.name, "config")

    def logfile(self, action) -> str:
        return os.path.join(LOG_DIR, f"svc_{self.name}_lxc_{action}.log")

    def lxc(self, action, argv, timeout):
        """Run lxc-start/lxc-stop and log `<action> done in <d> - ret <rc> - logs in <f>` (1.x)."""
        outf = self.logfile(action)
        t0 = time.monotonic()
        try:
            rc = self.ctx.run([*argv, "-o", outf, *self.lxcpath_args], timeout=timeout).rc
        except CommandError as exc:      # its output is logged at error level already
            rc = exc.result.rc
        done = f"{action} done in {timedelta(seconds=round(time.monotonic() - t0, 3))} - ret {rc} - logs in {outf}"
        (self.ctx.log.info if rc == 0 else self.ctx.log.error)(done)
        if rc != 0:
            raise DriverError(f"lxc-{action} {self.name} failed (rc {rc}): see {outf}")

    # --- technology hooks -------------------------------------------------------------------------
    def container_start(self):
        if self.cf and not os.path.exists(self.cf):
            raise DriverError(f"{self.cf} not found (check the cf keyword of {self.res.rid})")
        argv = ["lxc-start", "-d", "-n", self.name]
        if self.cf:
            argv += ["-f", self.cf]
        self.lxc("start", argv, START_TIMEOUT)

    def container_stop(self):
        self._links = self.links()
        self.lxc("stop", ["lxc-stop", "-n", self.name], max(self.stop_timeout, 60) + STOP_MARGIN)

    def up_argv(self):
        return ["lxc-info", "--name", self.name, *self.lxcpath_args]

    def parse_up(self, result):
        return result.ok and "RUNNING" in parse_info(result.out).get("State", [])

    def runmethod(self):
        rcmd = self.conf.get("rcmd")
        if rcmd:
            return list(rcmd)
        if self.attach:
            return ["lxc-attach", "-n", self.name, *self.lxcpath_args, "--"]
        return super().runmethod()

    def operational(self):
        if not super().operational():
            return False
        if self.probe([*self.runmethod(), "test", "-f", "/bin/systemctl"]).rc == 1:
            return True           # not a systemd guest: nothing more to wait for
        # systemd starts units on demand: wait for its default target, or the guest's network and
        # listeners may not be ready when the service's next resources start
        res = self.probe([*self.runmethod(), "systemctl", "is-active", "default.target"])
        return res.out.strip() == "active"

    def check_capabilities(self):
        return shutil.which("lxc-info") is not None

    def check_manual_boot(self):
        """`lxc.start.auto = 1` lets lxc-autostart boot the container with the host."""
        return (cf_value(self.config_path, "lxc.start.auto") or "0") != "1"

    def files_to_sync(self):
        return [self.config_path] if os.path.exists(self.config_path) else []

    @property
    def addr(self):
        if self.attach:
            return None           # not resolved: lxc-attach needs no address (docs/agent-reference.md §5.5 step 1)
        return Container.addr.fget(self)

    # --- veths left behind --------------------------------------------------------------------------
    def links(self) -> list:
        """The host ends of the running container's veths (`Link:` lines of lxc-info)."""
        res = self.probe(self.up_argv())
        return parse_info(res.out).get("Link", []) if res.ok else []

    def cleanup_links(self):
        for link in self._links:
            if self.probe(["ip", "link", "show", "dev", link], timeout=10).ok:
                self.ctx.run(["ip", "link", "del", "dev", link], timeout=30, check=False)
        self._links = []

    def wait_down(self):
        super().wait_down()
        self.cleanup_links()
