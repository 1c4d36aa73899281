"""app: applications started, stopped and checked by launcher scripts (docs/agent-reference.md §1.5, §6.4).

Two forms, one driver (and a third, drivers/app_guest.py: the 1.5 form of a VM service, launchers in
the guest's /svc/etc/init.d run through the container's runmethod, chosen by drivers/registry.py's VARIANTS):
- 1.5 `[app]` (no `script` keyword): the launcher folder `etc/<svc>.d/` (or `dir`): `S*` run with
  `start`, `K*` with `stop`, `C*` with `status`, each in lexical order. Label `app`.
- 1.8 `[app#N]` with `script` (absolute, or a name in the launcher folder) and the sequence numbers
  `start`, `stop`, `check` (an action runs only when its number is set) and `timeout` (seconds).
  Label: the script's name.

Launchers run with stdin on /dev/null and stdout+stderr in a log file
`var/<svc>/app/<script>.<action>.log` (the 1.8 agent keeps them in its tmp dir): not in pipes,
because a launcher that starts a daemon leaves it holding whatever stdout it inherited, and a pipe
would keep the runner waiting for its end. The file is logged after the run like any output.

The `[app#N]` checks of one status evaluation run in one batch the same way (`App.prepare_status`, called by
the evaluation with the app drivers it is about to ask: each check with its own OPENSVC_RID, a batch per check
timeout; each driver's next status() answers from it, once). The checks that begin the starts of one sub-action
(`is already started`) run in one batch too, before its first step (`App.prepare_start`): 1.8 ran each
just before its start, a spawn each (~8 ms through the runner, issue 19). The answer can be older by the
steps before it: a launcher that starts another resource's application too makes that resource's
start run its launcher (which finds it running) instead of logging `already started`.

The `C*` checks of a launcher folder run in one batch: a fixed `/bin/sh` script, the launchers as its
positional arguments (never interpolated into a command line), starts every check in the background
and prints `<rc> <path>` as each ends. One spawn instead of one per check (lessons A.14: a spawn
through the runner costs ~5-8 ms, a fork from that shell well under 1 ms), the checks still run
concurrently, and a check that hangs costs the others nothing: at the timeout the batch's process
group is killed and the checks that had not answered count as failed.

Instance-availability gate: when the engine passes `ctx.instance_avail` (the avail of the
ip/disk/fs/container resources) and it is neither up nor n/a, checks are not run: 1.5 form
`ip+fs status is <s>, skip check`, 1.8 form `not evaluated (instance not up)`, both n/a.
"""

import os
from datetime import timedelta
from pathlib import Path

from core.files import make_dirs
from core.trust import check_trusted
from drivers.base import Driver, DriverError
from drivers.runner import CommandTimeout

DEFAULT_TIMEOUT = 3600     # the agent waits forever by default; the runner needs a bound
CHECK_TIMEOUT = 60
FAILED_CHECK = 255         # the rc of a check that timed out or could not run
CHECK_BATCH = 'for f; do ( "$f" status </dev/null >/dev/null 2>&1; echo "$? $f" ) & done; wait'
# The [app#N] checks of one status wave (App.prepare_status): arguments in pairs `<rid> <script>`, each check with
# its own OPENSVC_RID; prints `<rc> <rid>` as each ends.
RID_CHECK_BATCH = ('while [ $# -gt 1 ]; do ( OPENSVC_RID="$1" "$2" status </dev/null >/dev/null 2>&1; '
                   'echo "$? $1" ) & shift 2; done; wait')


def is_launcher(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def launchers(folder: Path, prefix: str) -> list[Path]:
    """Executable `<prefix>*` files of the folder, lexical order (`S10db.standby@...` excluded:
    those are for startstandby)."""
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.iterdir(), key=lambda p: p.name)
            if p.name.startswith(prefix) and ".standby" not in p.name and is_launcher(p)]


def standby_launchers(folder: Path, nodename: str, default: dict) -> list[Path]:
    """The 1.5 `S*.standby@<where>` launchers that apply to this node, lexical order: <where> is the
    node's name, `nodes` or `drpnodes` (when this node is in that DEFAULT list)."""
    if not folder.is_dir():
        return []
    drp = list(default.get("drpnodes") or []) + list(default.get("drpnode") or [])
    scopes = {nodename} | {name for name, members in (("nodes", default.get("nodes") or ()), ("drpnodes", drp))
                           if nodename in members}
    return [p for p in sorted(folder.iterdir(), key=lambda p: p.name)
            if p.name.startswith("S") and ".standby@" in p.name
            and p.name.rsplit(".standby@", 1)[1] in scopes and is_launcher(p)]


def merge_checks(results: dict[str, bool]) -> tuple[str, list[str]]:
    """1.5 C* verdict: name -> succeeded."""
    if not results:
        return "n/a", ["no checkup scripts"]
    failed = [name for name, ok in results.items() if not ok]
    if not failed:
        return "up", []
    if len(failed) == len(results):
        return "down", []
    return "warn", [f"{', '.join(failed)} returned errors"]


def check_verdict(rc: int) -> tuple[str, list[str]]:
    """1.8 `<script> status` rc -> status."""
    if rc == 0:
        return "up", []
    if rc == 1:
        return "down", []
    return "warn", [f"check reports errors ({rc})"]


class App(Driver):
    family = "app"

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self.folder = Path(self.conf.get("dir") or ctx.node.launchers_dir(ctx.svcname))
        self.script = self.conf.get("script")
        self.timeout = int(self.conf.get("timeout") or ctx.timeouts.app or DEFAULT_TIMEOUT)
        self._checked = None     # the rc of this script's check run by prepare_status, for the next status()
        self._prestart = None    # the rc of the check run by prepare_start, for the next start

    # --- shared -----------------------------------------------------------------------------
    def label(self) -> str:
        return os.path.basename(str(self.script)) if self.script else "app"

    @property
    def script_path(self) -> Path:
        path = Path(str(self.script))
        return path if path.is_absolute() else self.folder / path

    def _logfile(self, script: Path, action: str) -> Path:
        folder = self.ctx.node.svc_var(self.ctx.svcname) / "app"
        make_dirs(folder)
        return folder / f"{script.name}.{action}.log"

    def _env(self, *scripts: Path) -> dict:
        """What a launcher run needs, checked just before it runs: each script is trusted again (core/trust.py;
        the load checked them, but a launcher run minutes later, a check run by every status, must not be one
        another user swapped meanwhile: UntrustedFile, exit 3), and the environment the agent gives its
        launchers (b1.8 svc.setup_environ: OPENSVC_SVCNAME, so one launcher serves several services; the rid
        as triggers get it)."""
        for script in scripts:
            check_trusted(script, "launcher")
        return {"OPENSVC_SVCNAME": self.ctx.svcname, "OPENSVC_RID": self.res.rid}

    def _exec(self, script: Path, action: str, timeout: int) -> int:
        """Run `<script> <action>` with the 1.8 log lines; the rc (timeouts raise DriverError).

        The runner logs the command line itself: no separate `exec ...` line."""
        env = self._env(script)
        try:
            res = self.ctx.run([str(script), action], timeout=timeout, check=False, env=env,
                               cwd=str(self.folder) if self.folder.is_dir() else None,
                               out_path=self._logfile(script, action))
        except CommandTimeout:
            self.ctx.log.error(f"execution timeout ({timeout} seconds)")
            raise DriverError(f"{script.name} {action}: execution timeout ({timeout} seconds)") \
                from None
        done = (f"{action} done in {timedelta(seconds=round(res.duration, 3))} - ret {res.rc}"
                f" - logs in {self._logfile(script, action)}")
        (self.ctx.log.info if res.rc == 0 else self.ctx.log.error)(done)
        return res.rc

    @property
    def check_timeout(self) -> int:
        return min(self.timeout, CHECK_TIMEOUT)

    def _probe(self, script: Path) -> int:
        try:
            return self.ctx.run([str(script), "status"], timeout=self.check_timeout,
                                check=False, quiet=True, env=self._env(script)).rc
        except DriverError:   # timeout, not executable: a failed check
            return FAILED_CHECK

    def _own_check(self) -> bool:
        """Is this resource's check App's own `[app#N]` `<script> status` (not a subclass's), set and runnable?"""
        return (type(self)._probe is App._probe and bool(self.script) and self.conf.get("check") not in (None, "")
                and is_launcher(self.script_path))

    def _batchable(self) -> bool:
        """Would status() run this resource's `[app#N]` check now (App's own status and probe, not a subclass's)?"""
        return type(self).status is App.status and not self._gate() and self._own_check()

    @classmethod
    def prepare_status(cls, drivers):
        """The `[app#N]` checks of `drivers` in one spawn per check timeout (see the module docstring); each
        driver keeps its rc for its next status(). The drivers answered."""
        for driver in drivers:
            driver._checked = None
        rcs = cls._batch_checks([d for d in drivers if d._batchable()])
        for driver, rc in rcs.items():
            driver._checked = rc
        return list(rcs)

    @classmethod
    def prepare_start(cls, drivers):
        """The checks that begin the `[app#N]` starts of a sub-action (`is already started`), in one spawn per
        check timeout before its first step; each driver keeps its rc for its next start."""
        for driver in drivers:
            driver._prestart = None
        todo = [d for d in drivers if d.conf.get("start") not in (None, "") and d._own_check()]
        for driver, rc in cls._batch_checks(todo).items():
            driver._prestart = rc

    @staticmethod
    def _batch_checks(drivers) -> dict:
        """driver -> rc of its check, run in one batch per check timeout. Fewer than two checks in a batch:
        nothing to gain, those drivers are left out (they probe for themselves)."""
        groups, rcs = {}, {}
        for driver in drivers:
            groups.setdefault(driver.check_timeout, []).append(driver)
        for timeout, group in groups.items():
            if len(group) >= 2:
                got = group[0]._rid_batch(group, timeout)
                rcs.update((driver, got[driver.res.rid]) for driver in group)
        return rcs

    def _rid_batch(self, group, timeout) -> dict[str, int]:
        """`<script> status` of every driver of `group` at once, through this driver's runner: rid -> rc."""
        argv = ["/bin/sh", "-c", RID_CHECK_BATCH, "osvc-checks"]
        for driver in group:
            check_trusted(driver.script_path, "launcher")
            argv += [driver.res.rid, str(driver.script_path)]
        try:
            out = self.ctx.run(argv, timeout=timeout, check=False, quiet=True,
                               env={"OPENSVC_SVCNAME": self.ctx.svcname}).out
        except DriverError as exc:   # timed out: keep the answers that came before the kill
            result = getattr(exc, "result", None)
            out = result.out if result is not None else ""
        rcs = {driver.res.rid: FAILED_CHECK for driver in group}
        for line in out.splitlines():
            rc, _, rid = line.partition(" ")
            if rid in rcs and rc.isdigit():
                rcs[rid] = int(rc)
        return rcs

    def _probe_batch(self, scripts: list[Path]) -> dict[str, int]:
        """`<script> status` for every script at once (see the module docstring): name -> rc."""
        argv = ["/bin/sh", "-c", CHECK_BATCH, "osvc-checks", *map(str, scripts)]
        env = self._env(*scripts)
        try:
            out = self.ctx.run(argv, timeout=min(self.timeout, CHECK_TIMEOUT), check=False, quiet=True,
                               env=env).out
        except DriverError as exc:   # timed out: keep the answers that came before the kill
            result = getattr(exc, "result", None)
            out = result.out if result is not None else ""
        rcs = dict.fromkeys((str(s) for s in scripts), FAILED_CHECK)
        for line in out.splitlines():
            rc, _, path = line.partition(" ")
            if path in rcs and rc.isdigit():
                rcs[path] = int(rc)
        return {Path(path).name: rc for path, rc in rcs.items()}

    def _gate(self):
        avail = self.ctx.instance_avail
        if avail in (None, "up", "n/a"):
            return None
        return avail

    # --- status -----------------------------------------------------------------------------
    def status(self):
        checked, self._checked = self._checked, None     # prepare_status's answer serves one status() only
        gated = self._gate()
        if self.script:
            if gated:
                return "n/a", ["not evaluated (instance not up)"]
            if self.conf.get("check") in (None, ""):
                return "n/a", ["check is not set"]
            if not is_launcher(self.script_path):
                return "warn", [f"script {self.script_path} does not exist or is not executable"]
            return check_verdict(self._probe(self.script_path) if checked is None else checked)
        if gated:
            return "n/a", [f"ip+fs status is {gated}, skip check"]
        checks = launchers(self.folder, "C")
        if len(checks) <= 1:
            return merge_checks({p.name: self._probe(p) == 0 for p in checks})
        return merge_checks({name: rc == 0 for name, rc in self._probe_batch(checks).items()})

    # --- actions ----------------------------------------------------------------------------
    def start(self):
        if self.script:
            return self._start_script()
        for script in launchers(self.folder, "S"):
            if self._exec(script, "start", self.timeout) != 0:
                raise DriverError(f"{script.name} start failed")
            self.can_rollback = True

    def standby_launchers(self) -> list[Path]:
        if self.script:
            return []
        default = self.ctx.spec.default if self.ctx.spec is not None else {}
        return standby_launchers(self.folder, self.ctx.node.name, default)

    def start_standby(self):
        """startstandby: the `S*.standby@...` launchers of this node, with `start`."""
        for script in self.standby_launchers():
            if self._exec(script, "start", self.timeout) != 0:
                raise DriverError(f"{script.name} start failed")
            self.can_rollback = True

    def stop(self):
        if self.script:
            return self._stop_script()
        # every K* runs even after a failure: stop as much as possible, then report
        failed = [s.name for s in launchers(self.folder, "K") if self._exec(s, "stop", self.timeout)]
        if failed:
            raise DriverError(f"{', '.join(failed)} stop failed")

    def _require_script(self):
        if not is_launcher(self.script_path):
            raise DriverError(f"script {self.script_path} does not exist or is not executable "
                              f"(check script of {self.res.rid})")

    def _start_script(self):
        if self.conf.get("start") in (None, ""):
            return
        self._require_script()
        checked, self._prestart = self._prestart, None
        if checked is None and self.conf.get("check") not in (None, ""):
            checked = self._probe(self.script_path)
        if checked == 0:
            self.ctx.log.info(f"{self.label()} is already started")
            return
        if self._exec(self.script_path, "start", self.timeout) != 0:
            raise DriverError(f"{self.label()} start failed")
        self.can_rollback = True

    def _stop_script(self):
        if self.conf.get("stop") in (None, ""):
            return
        self._require_script()
        if self._exec(self.script_path, "stop", self.timeout) != 0:
            raise DriverError(f"{self.label()} stop failed")
