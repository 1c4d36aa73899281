"""app, in guest: a VM service's applications, launchers in the guest's /svc/etc/init.d run by the host
through the container's runmethod, with no engine in the guest (the VM cookbook; the 1.x `resAppVm`
era, docs/encapsulation-and-cluster.md §1.5, first form).

The mode (`in_guest_mode`): the 1.5 app resource (the launcher folder form: no `script`) of a service
that has a container (`[container#N]`, or the implicit one of `mode = kvm|hpvm|...`) and no resource
tagged `encap` (with encap resources, a guest engine owns the guest's applications), seen by a host (not
by an engine running inside one of the service's encapnodes). drivers.app.App picks this class then.
That resource exists as for any service (config/build.py implicit_app): a bare `[app]` section, or the
host's etc/<svc>.d folder (which 1.x made for every service); the VM cookbook's vm188.env has neither.

Through the runmethod of the service's first container (`lxc-attach -n <name> --`, `ssh ... <name>`...):
    joinable    the container is up (else status says `container is <status>`), `<rm> pwd` answers
    folder      `<rm> test -d /svc/etc/init.d`; a start makes it (`<rm> mkdir -p /svc/etc/init.d`)
    listing     `<rm> find /svc/etc/init.d`, kept here: depth 1, names `S*` (start), `K*` (stop), `C*`
                (status), lexical order, `*.standby*` excluded. No pattern goes to the guest: ssh
                hands the command to the guest's shell, lxc-attach does not, so a `S*` would need
                quoting for one and not the other
    launcher    `<rm> /svc/etc/init.d/S10db start`, stdout+stderr to the HOST file
                var/<svc>/tmp/svc_<svc>_<launcher>.log, then `start done in <d> - ret <rc> - logs in <f>`
Starts stop at the first failure (the rollback stops what started); stops run every K* and report the
failures; a stop with the container down has nothing to do (its applications went down with it).
The probes (up test, pwd, test -d, find, C* checks) are quiet: status reads, never journaled.
"""

import posixpath
from datetime import timedelta

from core.files import make_dirs
from drivers.app import CHECK_TIMEOUT, FAILED_CHECK, App, merge_checks
from drivers.base import DriverError
from drivers.runner import CommandTimeout

GUEST_DIR = "/svc/etc/init.d"
PROBE_TIMEOUT = 30


def guest_container(spec):
    """The container whose guest holds the launchers: the service's first enabled, non-encap one."""
    return next((r for r in spec.resources if r.family == "container" and not r.disabled and not r.encap), None)


def in_guest_mode(res, spec) -> bool:
    """Does this app resource run its launchers in the service's guest? (see the module docstring)"""
    if spec is None or res.family != "app" or res.conf.get("script"):
        return False
    if spec.default.get("encap"):             # this engine runs inside the guest: its launchers are its own
        return False
    if any(r.encap for r in spec.resources):  # a guest engine runs the guest's applications
        return False
    return guest_container(spec) is not None


class AppGuest(App):
    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.container_rid = guest_container(ctx.spec).rid
        self._container = None

    # --- the guest ------------------------------------------------------------------------------
    @property
    def container(self):
        """The container's driver, on this resource's context: its commands log and journal as the app's."""
        if self._container is None:
            self._container = self.ctx.driver_of(self.container_rid)
        return self._container

    def rm(self, *argv) -> list:
        return [*self.container.runmethod(), *argv]

    def _probe_rc(self, *argv, timeout=PROBE_TIMEOUT) -> int:
        try:
            return self.ctx.run(self.rm(*argv), timeout=timeout, check=False, quiet=True).rc
        except DriverError:      # timed out, or the runmethod's command is missing
            return FAILED_CHECK

    def _unjoinable(self) -> str | None:
        """Why the guest cannot run launchers now (container not up, pwd fails), else None."""
        if not self.container.is_up():
            return f"container is {self.container.status()[0]}"
        rc = self._probe_rc("pwd")
        if rc != 0:
            return f"container {self.container.name} does not answer `{' '.join(self.rm('pwd'))}` (rc {rc})"
        return None

    def _has_folder(self) -> bool:
        return self._probe_rc("test", "-d", GUEST_DIR) == 0

    def guest_launchers(self, prefix: str) -> list[str]:
        """The guest's `<prefix>*` launchers, their paths in the guest, lexical order of their names."""
        res = self.ctx.run(self.rm("find", GUEST_DIR), timeout=PROBE_TIMEOUT, check=False, quiet=True)
        if not res.ok:
            raise DriverError(f"cannot list {GUEST_DIR} in container {self.container.name}: "
                              f"{' '.join(res.argv)} failed (rc {res.rc}): {res.err.strip() or res.out.strip()}")
        found = [line.strip() for line in res.out.splitlines()]
        names = {posixpath.basename(p) for p in found if posixpath.dirname(p) == GUEST_DIR}
        return [posixpath.join(GUEST_DIR, n) for n in sorted(names)
                if n.startswith(prefix) and ".standby" not in n]

    # --- shared -----------------------------------------------------------------------------------
    def _logfile(self, script, action):
        """The host file of a launcher's output: var/<svc>/tmp/svc_<svc>_<launcher>.log (1.x's pathtmp)."""
        folder = self.ctx.node.svc_var(self.ctx.svcname) / "tmp"
        make_dirs(folder)
        return folder / f"svc_{self.ctx.svcname}_{posixpath.basename(str(script))}.log"

    def _exec_in_guest(self, path: str, action: str) -> int:
        logfile = self._logfile(path, action)
        try:
            res = self.ctx.run(self.rm(path, action), timeout=self.timeout, check=False, out_path=logfile)
        except CommandTimeout:
            self.ctx.log.error(f"execution timeout ({self.timeout} seconds)")
            raise DriverError(f"{posixpath.basename(path)} {action}: execution timeout ({self.timeout} "
                              f"seconds)") from None
        done = (f"{action} done in {timedelta(seconds=round(res.duration, 3))} - ret {res.rc}"
                f" - logs in {logfile}")
        (self.ctx.log.info if res.rc == 0 else self.ctx.log.error)(done)
        return res.rc

    # --- status -----------------------------------------------------------------------------------
    def status(self):
        why = self._unjoinable()
        if why:
            return "n/a", [why]
        if not self._has_folder():
            return "n/a", [f"{GUEST_DIR} is not present inside container {self.container.name}"]
        try:
            checks = self.guest_launchers("C")
        except DriverError as exc:
            return "warn", [str(exc)]
        timeout = min(self.timeout, CHECK_TIMEOUT)
        return merge_checks({posixpath.basename(p): self._probe_rc(p, "status", timeout=timeout) == 0
                             for p in checks})

    # --- actions ----------------------------------------------------------------------------------
    def start(self):
        why = self._unjoinable()
        if why:
            raise DriverError(f"cannot start the applications of container {self.container.name}: {why}")
        if not self._has_folder():
            self.ctx.run(self.rm("mkdir", "-p", GUEST_DIR), timeout=PROBE_TIMEOUT)
            return             # a new, empty launcher folder: nothing to start
        for path in self.guest_launchers("S"):
            if self._exec_in_guest(path, "start") != 0:
                raise DriverError(f"{posixpath.basename(path)} start failed")
            self.can_rollback = True

    def stop(self):
        why = self._unjoinable()
        if why:
            # down: its applications went down with it; up but deaf: they may run, and the container's
            # own stop (next) is all that can stop them, so say so louder
            level = self.ctx.log.info if why.startswith("container is ") else self.ctx.log.warning
            level(f"{why}: no application to stop in the guest")
            return
        if not self._has_folder():
            self.ctx.log.info(f"{GUEST_DIR} is not present inside container {self.container.name}: "
                              f"no application to stop")
            return
        # every K* runs even after a failure: stop as much as possible, then report
        failed = [posixpath.basename(p) for p in self.guest_launchers("K") if self._exec_in_guest(p, "stop")]
        if failed:
            raise DriverError(f"{', '.join(failed)} stop failed")

    def standby_launchers(self) -> list:
        return []              # the S*.standby@<node> launchers are a host folder's (1.5 hosted form)
