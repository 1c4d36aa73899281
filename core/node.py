"""Node identity and the files of a node (docs/design.md §2).

Every command imports this module, `print status` included: it stays free of socket and
configparser (imported when node.conf is read).
"""

import os
import re
from functools import lru_cache
from pathlib import Path

from core.errors import UsageError
from core.record import Record

# Node-level files of etc/ (node.conf, auth.conf): never a service, whatever a glob matches.
NODE_FILES = frozenset({"node", "auth"})

# The service name syntax: the 1.x agent's names are host-name-like (ovmguest1, vm188, deb1.opensvc.com), the
# env file name without its suffix. Letters, digits, '.', '-' and '_', starting with a letter or a digit, no
# '..', at most SERVICE_NAME_MAX characters: no '/', no newline or other control character, no leading '-'
# (never an option), and every file derived from it (.<svc>.env.<pid>.tmp, <svc>.log.5, <svc>.compliance)
# stays far below the 255-byte file name limit.
SERVICE_NAME_MAX = 128
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SERVICE_NAME_HELP = (f"1 to {SERVICE_NAME_MAX} letters, digits, '.', '-' or '_', starting with a letter or a "
                     f"digit, without '..'; not {' or '.join(sorted(NODE_FILES))}")
# Lock files of a service besides var/lock/<svc>: the sync lock, the compliance lock (docs/agent-reference.md §7).
LOCK_SUFFIXES = (".sync", ".compliance")


def is_service_name(name) -> bool:
    return isinstance(name, str) and len(name) <= SERVICE_NAME_MAX and bool(_SERVICE_NAME.fullmatch(name)) \
        and ".." not in name and name not in NODE_FILES


def check_service_name(name) -> str:
    """`name` if it is a valid service name, else UsageError (exit 2: the name is a malformed argument; it can
    never name a service, so it is not 'unknown service', exit 4). Every per-service path goes through here,
    so no name can lead outside etc/, var/ or log/."""
    if is_service_name(name):
        return name
    shown = repr(name[:SERVICE_NAME_MAX]) + ("..." if len(name) > SERVICE_NAME_MAX else "") \
        if isinstance(name, str) else repr(name)
    why = f" ({name}.conf is a node file)" if name in NODE_FILES else ""
    raise UsageError(f"invalid service name {shown}{why}: a service name is {SERVICE_NAME_HELP}")


def default_root() -> Path:
    if os.environ.get("OSVC_ROOT"):
        return Path(os.environ["OSVC_ROOT"])
    if os.geteuid() == 0:
        return Path("/var/lib/osvc-engine")
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "osvc-engine"


def default_nodename() -> str:
    return os.environ.get("OSVC_NODENAME") or os.uname().nodename   # what gethostname() returns


class Node(Record, frozen=True):
    """Where a node keeps its files, and what it is called."""

    root: Path
    name: str

    @classmethod
    def from_env(cls) -> "Node":
        return cls(default_root(), default_nodename())

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def journal_path(self) -> Path:
        return self.var / "journal.db"

    def env_file(self, svc: str) -> Path:
        """The service's env file: `<svc>.env`, else `<svc>.conf`, else where a new one goes."""
        check_service_name(svc)
        for suffix in (".env", ".conf"):
            path = self.etc / f"{svc}{suffix}"
            if path.exists():
                return path
        return self.etc / f"{svc}.env"

    def launchers_dir(self, svc: str) -> Path:
        return self.etc / f"{check_service_name(svc)}.d"

    def svc_var(self, svc: str) -> Path:
        return self.var / check_service_name(svc)

    def lock_path(self, svc: str) -> Path:
        """var/lock/<svc>, or a service's other lock `<svc>.sync` (LOCK_SUFFIXES)."""
        base = next((svc[: -len(s)] for s in LOCK_SUFFIXES if isinstance(svc, str) and svc.endswith(s)), svc)
        check_service_name(base)
        return self.var / "lock" / svc

    def log_path(self, svc: str) -> Path:
        return self.root / "log" / f"{check_service_name(svc)}.log"

    @property
    def conf_path(self) -> Path:
        return self.etc / "node.conf"

    def setting(self, section: str, key: str, default=None):
        """A value of `etc/node.conf` (ini), or `default` when the file, section or key is absent.

        Node-wide settings live there: `[node] env`, `[paths]` technology roots, `[transport]` and
        `[roots]` (how peers are reached), `[container] poll_interval`."""
        path = self.conf_path
        try:
            st = path.stat()
            mtime = (st.st_mtime_ns, st.st_ctime_ns)     # ctime: a chmod/chown is seen at once too
        except OSError:
            return default
        return _read_conf(str(path), mtime).get(section, {}).get(key, default)

    def section(self, section: str) -> dict:
        """Every key of one `etc/node.conf` section ({} when absent)."""
        try:
            st = self.conf_path.stat()
            mtime = (st.st_mtime_ns, st.st_ctime_ns)
        except OSError:
            return {}
        return dict(_read_conf(str(self.conf_path), mtime).get(section, {}))

    def services(self) -> list[str]:
        """Names of the services defined on this node, sorted."""
        if not self.etc.is_dir():
            return []
        names = {p.stem for p in self.etc.iterdir() if p.suffix in (".env", ".conf") and p.is_file()}
        return sorted(names - NODE_FILES)


@lru_cache(maxsize=8)
def _read_conf(path: str, mtime: tuple) -> dict:
    """node.conf as {section: {key: value}}; cached per (path, mtime) so edits are seen at once."""
    import configparser

    from core.trust import check_trusted

    check_trusted(path, "node.conf")     # UntrustedFile, exit 3: its [paths] name the commands root runs
    cp = configparser.RawConfigParser()
    cp.read(path)
    return {name: dict(cp.items(name)) for name in cp.sections()}
