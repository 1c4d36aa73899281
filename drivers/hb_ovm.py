"""hb.ovm: the Oracle VM manager's HA flag on the service's VMs (docs/agent-reference.md §6.2).

    start   (HA enable)   ovm -u <user> -p <password> -S";" vm conf -n <vm> -s <pool> -e   per container.ovm
    stop    (HA disable)  the same with -d
    pool                  `ovm ... svr ls`: the line whose 2nd field is this node gives the pool (4th)
    status  warn `OVM agent is not installed` (no agent init script), `OVM agent daemons are not running`
            (`<agent> status` rc != 0 or a line not starting with `ok!`), the manager's error text,
            `HA not enabled for this VM` (`vm info`: `High Availability`, or the CLI's own typo
            `Hign Availability`, is not `Enabled`); else up.

Credentials: the node's etc/auth.conf, section [ovm], keys username and password. The password
is passed to every ovm call as `mask`, so the log shows `-p XXXXXX` and the journal never holds it.
The hb machine: ha-disabled -> ha-enabling -> ha-enabled (and back through ha-disabling).
"""

import configparser
import os

from core.errors import EXIT_CONFIG, OsvcError
from core.trust import check_private, check_trusted
from drivers.base import Driver, DriverError
from drivers.container import setting_path

OVM_TIMEOUT = 120


def parse_info(text) -> dict:
    """`vm info` output as {key: value}: `key: value` lines (a value holding a colon is not one)."""
    info = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) == 2:
            info[parts[0].strip()] = parts[1].strip()
    return info


def ha_enabled(info) -> bool:
    # The OVM 2 CLI prints "Hign Availability" (sic); later ones spell it right.
    return "Enabled" in (info.get("High Availability"), info.get("Hign Availability"))


def pool_of(text, nodename) -> str | None:
    """The server pool of `nodename` in `svr ls -S";"` output (fields split on ';', quotes stripped)."""
    for line in text.splitlines():
        fields = [f.strip().strip('"') for f in line.split(";")]
        if len(fields) == 4 and fields[1] == nodename:
            return fields[3]
    return None


def agent_running(result) -> bool:
    """`ovs-agent status`: rc 0 and every non-empty line an `ok!` line."""
    if not result.ok:
        return False
    return all(line.startswith("ok!") for line in result.out.splitlines() if line.strip())


class AuthConfError(DriverError):
    """auth.conf refused (bad owner or mode, or unparsable): a configuration error, exit 3."""

    exit_code = EXIT_CONFIG


def _error_line(exc) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if lineno is None and getattr(exc, "errors", None):
        lineno = exc.errors[0][0]
    return lineno


def read_auth(path) -> configparser.RawConfigParser:
    """etc/auth.conf, parsed. It must be root's, writable by root only and readable by nobody else
    (core/trust.py). Its content is NEVER quoted in an error (issue 17, item 2): configparser's messages
    quote the offending line, which may hold the password, and errors reach the terminal, the status cache,
    the log and the append-only journal. Only the file and the line number are named."""
    if not os.path.exists(path):
        return configparser.RawConfigParser()
    try:
        check_trusted(path, "auth.conf")
        check_private(path, "auth.conf")
    except OsvcError as exc:
        raise AuthConfError(str(exc)) from None
    cp = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as fh:
            cp.read_file(fh, path)
    except configparser.Error as exc:
        line = _error_line(exc)
        where = f"{path}:{line}" if line else path
        raise AuthConfError(f"{where}: cannot be parsed ({type(exc).__name__}; the line is not shown, it may hold "
                            f"the password): expected `key = value` lines under [ovm]") from None
    except UnicodeDecodeError:
        raise AuthConfError(f"{path}: not UTF-8 text (its content is not shown)") from None
    except OSError as exc:
        raise AuthConfError(f"{path}: cannot be read: {exc.strerror}") from None
    return cp


class HbOvm(Driver):
    family = "hb"

    def __init__(self, res, ctx):
        super().__init__(res, ctx)
        self._creds = None
        self._pool = None

    def label(self):
        return "ovm"

    # --- the manager ----------------------------------------------------------------------------
    def credentials(self) -> tuple:
        if self._creds is None:
            path = os.path.join(str(self.ctx.node.etc), "auth.conf")
            cp = read_auth(path)
            if not cp.has_section("ovm"):
                raise DriverError("no auth information for OVM manager")
            if not cp.has_option("ovm", "username"):
                raise DriverError("no username information for OVM manager")
            if not cp.has_option("ovm", "password"):
                raise DriverError("no password information for OVM manager")
            self._creds = (cp.get("ovm", "username"), cp.get("ovm", "password"))
        return self._creds

    def ovm(self, *args, quiet=False):
        """One manager call; lookups (svr ls, vm info) are quiet, as the 1.x agent's are."""
        from drivers.runner import CommandError, mask_text

        user, password = self.credentials()
        argv = ["ovm", "-u", user, "-p", password, '-S";"', *args]
        # The agent logs the call without its output separator (docs/agent-reference.md §6.2, the seed's line
        # `ovm -u admin -p XXXXXX vm conf -n ovmguest1 -s pool1 -e`): the log shows those words, the journal
        # the exact argv (masked).
        shown = ["ovm", "-u", user, "-p", password, *args]
        try:
            return self.ctx.run(argv, timeout=OVM_TIMEOUT, mask=[password], quiet=quiet, shown=shown)
        except CommandError as exc:
            result = exc.result
            detail = [line.strip() for line in (result.out + "\n" + result.err).splitlines() if line.strip()]
            reason = mask_text(detail[-1], [password]) if detail else f"rc {result.rc}"
            raise DriverError(f"ovm command execution error: {reason}") from None

    def pool(self) -> str:
        if self._pool is None:
            pool = pool_of(self.ovm("svr", "ls", quiet=True).out, self.ctx.node.name)
            if pool is None:
                raise DriverError("can't find node's pool name")
            self._pool = pool
        return self._pool

    def vms(self) -> list:
        """The OVM manager's names of this service's ovm containers."""
        spec = self.ctx.spec
        if spec is None:
            return []
        return [str(r.conf.get("name") or spec.name) for r in spec.resources
                if r.family == "container" and r.type == "ovm" and not r.disabled]

    def set_ha(self, flag):
        for vm in self.vms():
            self.ovm("vm", "conf", "-n", vm, "-s", self.pool(), flag)

    # --- actions --------------------------------------------------------------------------------
    def start(self):
        self.set_ha("-e")
        self.can_rollback = True

    def stop(self):
        self.set_ha("-d")

    # --- status ---------------------------------------------------------------------------------
    def status(self):
        agent = setting_path(self.ctx.node, "ovs_agent")
        if not os.path.exists(agent):
            return "warn", ["OVM agent is not installed"]
        if not agent_running(self.ctx.run([agent, "status"], timeout=30, check=False, quiet=True)):
            return "warn", ["OVM agent daemons are not running"]
        vms = self.vms()
        if not vms:
            return "n/a", ["no ovm container in this service"]
        try:
            disabled = [vm for vm in vms
                        if not ha_enabled(parse_info(self.ovm("vm", "info", "-n", vm, "-s", self.pool(),
                                                              quiet=True).out))]
        except DriverError as exc:
            return "warn", [str(exc)]
        if disabled:
            return "warn", ["HA not enabled for this VM"]
        return "up", []
